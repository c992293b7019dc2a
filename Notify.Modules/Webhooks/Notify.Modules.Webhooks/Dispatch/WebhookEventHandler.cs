using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Webhooks.Contracts;

namespace Notify.Modules.Webhooks.Dispatch;

/// <summary>
/// Consumes <see cref="WebhookEventIntegrationEvent"/>s that other modules write to their outboxes and fans
/// each out to the tenant's endpoints. The message id becomes the event id (and <c>webhook-id</c>); the
/// consumer's inbox makes a redelivered message a no-op.
/// </summary>
internal sealed class WebhookEventHandler(WebhookFanOut fanOut, ILogger<WebhookEventHandler> logger) : IIntegrationEventHandler<WebhookEventIntegrationEvent>, IIntegrationEventTenantFilter<WebhookEventIntegrationEvent>
{
    public const string Queue = "webhooks.events";

    /// <summary>A tenant without endpoints has no one to send its events to, now or later (<see cref="WebhookFanOut.PublishAsync"/>).</summary>
    public async Task<bool> HasWorkForAsync(Guid tenantId, CancellationToken cancellationToken) =>
        await fanOut.HasEndpointsAsync(tenantId, cancellationToken);

    public async Task HandleAsync(WebhookEventIntegrationEvent integrationEvent, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        if (context.TenantId is not { } tenantId)
        {
            logger.LogWarning("Webhook event {EventId} ({Type}) names no tenant; dropped", context.EventId, integrationEvent.Type);
            return;
        }

        if (!WebhookEventTypes.All.Contains(integrationEvent.Type, StringComparer.Ordinal))
        {
            logger.LogWarning("Webhook event {EventId} has unknown type {Type}; dropped", context.EventId, integrationEvent.Type);
            return;
        }

        await fanOut.PublishAsync(context.EventId, tenantId, integrationEvent.Type, integrationEvent.Data, context.OccurredAt, exceptEndpoint: null, cancellationToken);
    }
}
