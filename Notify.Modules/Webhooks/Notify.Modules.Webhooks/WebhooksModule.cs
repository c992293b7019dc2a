using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Webhooks.Contracts;
using Notify.Modules.Webhooks.Data;
using Notify.Modules.Webhooks.Dispatch;
using Notify.Modules.Webhooks.Safety;

namespace Notify.Modules.Webhooks;

/// <summary>
/// Outbound event webhooks to tenants' systems, signed per Standard Webhooks, retried on a persisted schedule,
/// with an attempt log. Input: <see cref="WebhookEventIntegrationEvent"/>s from other modules' outboxes.
/// </summary>
public sealed class WebhooksModule : IModule
{
    public string Name => WebhooksDbContext.Schema;

    public void Register(IHostApplicationBuilder builder, HostRole role)
    {
        builder.AddModuleDbContext<WebhooksDbContext>(WebhooksDbContext.Schema);
        if (role == HostRole.Migrations)
        {
            return;
        }

        builder.Services.Configure<WebhookOptions>(builder.Configuration.GetSection(WebhookOptions.Section));
        builder.Services.AddScoped<WebhookFanOut>();
        switch (role)
        {
            case HostRole.Api:
                builder.Services.AddSingleton<WebhookUrlGuard>();
                break;
            case HostRole.Worker:
                builder.Services.AddSingleton<WebhookHttp>();
                builder.Services.AddSingleton<WebhookSender>();
                builder.Services.AddSingleton<DeliveryStore>();
                builder.Services.AddScoped<EndpointDisabler>();
                builder.Services.AddSingleton<WebhookDispatcher>();
                builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
                builder.Services.AddOutboxRelay<WebhooksDbContext>();
                builder.Services.AddIntegrationEventHandler<WebhooksDbContext, WebhookEventIntegrationEvent, WebhookEventHandler>(WebhookEventHandler.Queue);
                break;
        }
    }

    public async Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<WebhooksDbContext>().Database.MigrateAsync(cancellationToken);
    }
}
