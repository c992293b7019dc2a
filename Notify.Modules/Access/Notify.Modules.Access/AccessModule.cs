using FastEndpoints;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Access.Audit;
using Notify.Modules.Access.Authentication;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Access.Data;
using Notify.Modules.Access.Provisioning;

namespace Notify.Modules.Access;

/// <summary>Tenants, API keys (authentication, scopes, rate limits) and the audit log.</summary>
public sealed class AccessModule : IModule
{
    public string Name => AccessDbContext.Schema;

    public void Register(IHostApplicationBuilder builder, HostRole role)
    {
        builder.AddModuleDbContext<AccessDbContext>(AccessDbContext.Schema);
        switch (role)
        {
            case HostRole.Api:
                builder.Services.AddHttpContextAccessor();
                builder.Services.AddScoped<ApiKeyStore>();
                builder.Services.AddSingleton<ApiKeyCache>();
                builder.Services.AddHostedService(sp => sp.GetRequiredService<ApiKeyCache>());
                builder.Services.AddScoped<AuditTrail>();
                builder.Services
                    .AddAuthentication(AccessClaims.ApiKeyScheme)
                    .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(AccessClaims.ApiKeyScheme, null);
                builder.Services.AddAuthorizationBuilder()
                    .AddPolicy(AccessClaims.SystemAdminPolicy, p => p
                        .RequireClaim(AccessClaims.SystemTenant, "true")
                        .RequireClaim(AccessClaims.Scope, ApiScopes.Admin));
                break;
            case HostRole.Worker:
                builder.Services.AddOutboxRelay<AccessDbContext>();
                builder.Services.AddIntegrationEventHandler<AccessDbContext, TenantCreatedIntegrationEvent, TenantProvisioningHandler>(TenantProvisioningHandler.Queue);
                builder.Services.AddIntegrationEventHandler<AccessDbContext, AuditEventIntegrationEvent, AuditEventHandler>(AuditEventHandler.Queue);
                break;
            case HostRole.Migrations:
                builder.Services.AddScoped<BootstrapAdmin>();
                break;
        }
    }

    public async Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<AccessDbContext>().Database.MigrateAsync(cancellationToken);
        var key = scope.ServiceProvider.GetRequiredService<IConfiguration>()[BootstrapAdmin.ConfigurationKey];
        await scope.ServiceProvider.GetRequiredService<BootstrapAdmin>().EnsureAsync(key, cancellationToken);
    }
}

public static class AccessApplicationBuilderExtensions
{
    /// <summary>API keys: authenticate, authorize, then count the request against the key's rate limit.</summary>
    public static IApplicationBuilder UseAccess(this IApplicationBuilder app) =>
        app.UseAuthentication().UseAuthorization().UseMiddleware<RateLimitMiddleware>();
}
