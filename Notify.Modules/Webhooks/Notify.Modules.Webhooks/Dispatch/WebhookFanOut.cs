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
    private readonly Dictionary<Guid, List<(Guid Id, string[] EventTypes)>> _enabledEndpoints = [];

    /// <summary>Adds the event and a delivery to each of the tenant's enabled endpoints whose filter accepts it.</summary>
    public async Task<WebhookEvent> PublishAsync(
        Guid eventId, Guid tenantId, string type, JsonElement data, DateTimeOffset occurredAt, Guid? exceptEndpoint, CancellationToken cancellationToken)
    {
        var webhookEvent = CreateEvent(eventId, tenantId, type, data, occurredAt);
        if (!_enabledEndpoints.TryGetValue(tenantId, out var endpoints))
        {
            _enabledEndpoints[tenantId] = endpoints = (await db.Endpoints.AsNoTracking()
                .Where(e => e.TenantId == tenantId && e.Enabled)
                .Select(e => new { e.Id, e.EventTypes })
                .ToListAsync(cancellationToken)).Select(e => (e.Id, e.EventTypes)).ToList();
        }

        var now = clock.GetUtcNow();
        foreach (var endpoint in endpoints.Where(e => e.Id != exceptEndpoint && EventTypeFilter.Accepts(e.EventTypes, type)))
        {
            db.Deliveries.Add(WebhookDelivery.Due(Ids.New(clock), tenantId, endpoint.Id, webhookEvent.Id, now));
        }

        return webhookEvent;
    }

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
