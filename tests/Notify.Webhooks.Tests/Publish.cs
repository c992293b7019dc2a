using System.Text.Json;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Webhooks.Contracts;

namespace Notify.Webhooks.Tests;

internal static class Publish
{
    /// <summary>
    /// Publishes events the way another module (Delivery) does: written to an outbox in a transaction, then
    /// relayed through RabbitMQ to the Webhooks consumer. The webhooks schema's own outbox serves as the sender here.
    /// </summary>
    public static Task EventsAsync(this NotifyHosts hosts, Guid tenantId, params (string Type, object Data)[] events) =>
        hosts.QueryAsync(async db =>
        {
            foreach (var (type, data) in events)
            {
                db.AddIntegrationEvent(new WebhookEventIntegrationEvent(type, JsonSerializer.SerializeToElement(data, JsonSerializerOptions.Web)), tenantId, TimeProvider.System);
            }

            return await db.SaveChangesAsync();
        });
}
