using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Webhooks.Data;
using Notify.Modules.Webhooks.Domain;

namespace Notify.Modules.Webhooks.Dispatch;

/// <summary>
/// Turns an event into one stored body and a due delivery per interested endpoint, in the caller's unit of
/// work; Workers' <see cref="WebhookDispatcher"/> sends them.
/// </summary>
internal sealed class WebhookFanOut(WebhooksDbContext db, TimeProvider clock)
{
    // A consumer fans out a whole group of one tenant's events in one scope: the endpoints are read once for all of them.
    private readonly Dictionary<Guid, List<EndpointFilter>> _endpoints = [];

    // Compiled: asked for every group of events the Worker consumes; building and looking up the LINQ query each time was
    // ~3% of the Worker's CPU under load (bench/delivery.sh, perf).
    private static readonly Func<WebhooksDbContext, Guid, IAsyncEnumerable<EndpointFilter>> EndpointsOf = EF.CompileAsyncQuery(
        (WebhooksDbContext db, Guid tenantId) => db.Endpoints.AsNoTracking().Where(e => e.TenantId == tenantId)
            .Select(e => new EndpointFilter(e.Id, e.Enabled, e.EventTypes)));

    /// <summary>
    /// Adds the event and a delivery to each of the tenant's enabled endpoints whose filter accepts it. The event is kept
    /// only when the tenant has an endpoint, enabled or not, as a disabled one may replay it later; without any there is
    /// no one to send it to now or later, so most tenants' events (every accepted and sent notification) cost no row.
    /// </summary>
    public async Task PublishAsync(
        Guid eventId, Guid tenantId, string type, JsonElement data, DateTimeOffset occurredAt, Guid? exceptEndpoint, CancellationToken cancellationToken)
    {
        var endpoints = await EndpointsAsync(tenantId, cancellationToken);
        if (endpoints.Count == 0)
        {
            return;
        }

        var webhookEvent = CreateEvent(eventId, tenantId, type, data, occurredAt);
        var now = clock.GetUtcNow();
        foreach (var endpoint in endpoints.Where(e => e.Enabled && e.Id != exceptEndpoint && EventTypeFilter.Accepts(e.EventTypes, type)))
        {
            db.Deliveries.Add(WebhookDelivery.Due(Ids.New(clock), tenantId, endpoint.Id, webhookEvent.Id, now));
        }
    }

    /// <summary>Whether the tenant has an endpoint, enabled or not: without one its events are not kept.</summary>
    public async Task<bool> HasEndpointsAsync(Guid tenantId, CancellationToken cancellationToken) =>
        (await EndpointsAsync(tenantId, cancellationToken)).Count > 0;

    private async Task<List<EndpointFilter>> EndpointsAsync(Guid tenantId, CancellationToken cancellationToken)
    {
        if (!_endpoints.TryGetValue(tenantId, out var endpoints))
        {
            _endpoints[tenantId] = endpoints = await EndpointsOf(db, tenantId).ToListAsync(cancellationToken);
        }

        return endpoints;
    }

    /// <summary>What fanning out needs of an endpoint.</summary>
    private sealed record EndpointFilter(Guid Id, bool Enabled, string[] EventTypes);

    /// <summary>Adds the event and one delivery to <paramref name="endpointId"/> only, whatever its filter (test events).</summary>
    public (WebhookEvent Event, WebhookDelivery Delivery) SendTo(Guid endpointId, Guid tenantId, string type, JsonElement data)
    {
        var webhookEvent = CreateEvent(Ids.New(clock), tenantId, type, data, clock.GetUtcNow());
        var delivery = WebhookDelivery.Due(Ids.New(clock), tenantId, endpointId, webhookEvent.Id, clock.GetUtcNow());
        db.Deliveries.Add(delivery);
        return (webhookEvent, delivery);
    }

    private WebhookEvent CreateEvent(Guid eventId, Guid tenantId, string type, JsonElement data, DateTimeOffset occurredAt)
    {
        var webhookEvent = new WebhookEvent
        {
            Id = eventId,
            TenantId = tenantId,
            Type = type,
            Payload = Body(type, occurredAt, data),
            CreatedAt = clock.GetUtcNow(),
        };
        db.Events.Add(webhookEvent);
        return webhookEvent;
    }

    /// <summary>The body every attempt sends: <c>{"type", "timestamp", "data"}</c> (Standard Webhooks' recommended shape).</summary>
    public static string Body(string type, DateTimeOffset timestamp, JsonElement data)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", type);
            writer.WriteString("timestamp", timestamp.UtcDateTime);
            writer.WritePropertyName("data");
            if (data.ValueKind == JsonValueKind.Undefined)
            {
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
            else
            {
                data.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
