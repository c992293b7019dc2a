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
    /// <returns>The events' ids (the consumer's inbox records each).</returns>
    public static Task<List<Guid>> EventsAsync(this NotifyHosts hosts, Guid tenantId, params (string Type, object Data)[] events) =>
        hosts.QueryAsync(async db =>
        {
            var ids = events.Select(e => db.AddIntegrationEvent(
                new WebhookEventIntegrationEvent(e.Type, JsonSerializer.SerializeToElement(e.Data, JsonSerializerOptions.Web)), tenantId, TimeProvider.System).Id).ToList();
            await db.SaveChangesAsync();
            return ids;
        });
}
