using System.Text.Json;
using Notify.Modules.Abstractions.Messaging;

namespace Notify.Modules.Webhooks.Contracts;

/// <summary>
/// Asks the Webhooks module to tell a tenant's systems that something happened. A module writes it into
/// its own outbox, in the same transaction as the change it announces (with the tenant as the outbox row's
/// tenant), e.g. Delivery on every notification status change:
/// <code>db.AddIntegrationEvent(new WebhookEventIntegrationEvent(WebhookEventTypes.NotificationSent, data), tenantId, clock);</code>
/// The Worker fans it out to the tenant's enabled endpoints whose filter matches <see cref="Type"/>; the
/// outbox message id becomes the webhook's <c>webhook-id</c>, so a redelivered message is sent once.
/// </summary>
/// <param name="Type">One of <see cref="WebhookEventTypes"/>.</param>
/// <param name="Data">The event's <c>data</c> object, sent as is (camelCase, no secrets).</param>
public sealed record WebhookEventIntegrationEvent(string Type, JsonElement Data) : IIntegrationEvent
{
    /// <inheritdoc />
    public static string EventType => "webhooks.event.requested.v1";
}
