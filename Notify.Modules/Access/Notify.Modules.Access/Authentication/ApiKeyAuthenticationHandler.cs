using System.Security.Claims;
using System.Text.Encodings.Web;
using FastEndpoints;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;

namespace Notify.Modules.Access.Authentication;

/// <summary><c>Authorization: Bearer ntf_...</c>; sets the request's tenant and the key's scopes as claims.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string BearerPrefix = "Bearer ";
    private const string InvalidKey = "The API key is invalid, expired or revoked.";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }

        if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail("The Authorization header must be 'Bearer <api key>'.");
        }

        var plainKey = header[BearerPrefix.Length..].Trim();
        if (plainKey.Contains('.', StringComparison.Ordinal))
        {
            // A signed token (e.g. an inbox subscriber token), never an API key: no lookup. Endpoints that take such
            // tokens allow anonymous access and verify them themselves, so this failure does not block them.
            return AuthenticateResult.Fail(InvalidKey);
        }

        var identity = await Context.RequestServices.GetRequiredService<ApiKeyStore>().FindAsync(plainKey, Context.RequestAborted);
        if (identity is null)
        {
            return AuthenticateResult.Fail(InvalidKey);
        }

        Context.RequestServices.GetRequiredService<TenantContext>().Set(identity.TenantId);

        var claims = new List<Claim>
        {
            new(AccessClaims.TenantId, identity.TenantId.ToString()),
            new(AccessClaims.ApiKeyId, identity.KeyId.ToString()),
            new(ClaimTypes.NameIdentifier, identity.KeyId.ToString()),
        };
        var scopes = identity.Scopes.Contains(ApiScopes.Admin, StringComparer.Ordinal) ? ApiScopes.All : identity.Scopes;
        claims.AddRange(scopes.Select(s => new Claim(AccessClaims.Scope, s)));
        if (identity.SystemTenant)
        {
            claims.Add(new Claim(AccessClaims.SystemTenant, "true"));
        }

        Context.Items[RateLimitMiddleware.IdentityItem] = identity;
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var failure = (await Context.AuthenticateAsync(Scheme.Name)).Failure?.Message;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, "Unauthorized",
            failure ?? "Send an API key as 'Authorization: Bearer ntf_...'.", "unauthorized");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var definition = Context.GetEndpoint()?.Metadata.GetMetadata<EndpointDefinition>();
        var needed = definition?.AllowedPermissions is { Count: > 0 } permissions
            ? $"This endpoint requires an API key with one of the scopes: {string.Join(", ", permissions)}."
            : "This endpoint requires an admin key of the system tenant.";
        return Problems.WriteAsync(Context, StatusCodes.Status403Forbidden, "Forbidden", needed, "forbidden");
    }
}
