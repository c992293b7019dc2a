using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Delivery.Contracts;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Webhooks.Contracts;

namespace Notify.Modules.Delivery.Domain;

/// <summary>What a status integration event tells about its notification.</summary>
internal sealed record NotificationFacts(Guid Id, string? UserId, string TemplateKey, JsonElement? Metadata)
{
    public static NotificationFacts Of(Notification notification) =>
        new(notification.Id, notification.UserId, notification.TemplateKey, notification.Metadata?.RootElement);
}

/// <summary>
/// Turns every timeline row that is a status change into its integration event — a
/// <see cref="WebhookEventIntegrationEvent"/> of type <c>notification.&lt;status&gt;</c> carrying the notification, delivery,
/// channel, status, recipient, template and metadata — so it reaches the outbox in the same transaction as the row. It is
/// the one event for everyone who follows a notification's life: Webhooks delivers it, Analytics reads the same stream. <see cref="DeliveryDbContext"/> calls it on every save, so
/// nobody has to remember it; paths that write timeline rows without the change tracker (the batch COPY) call
/// <see cref="OutboxMessagesFor"/> themselves.
/// </summary>
internal static class StatusEvents
{
    /// <summary>Timeline event type → the status it reports and its webhook event type.</summary>
    private static readonly Dictionary<string, (string Status, string WebhookType)> Changes = new()
    {
        [TimelineEvents.Accepted] = (NotificationStatus.Accepted, WebhookEventTypes.NotificationAccepted),
        [TimelineEvents.Scheduled] = (NotificationStatus.Scheduled, WebhookEventTypes.NotificationScheduled),
        [TimelineEvents.Sent] = (NotificationStatus.Sent, WebhookEventTypes.NotificationSent),
        [TimelineEvents.Failed] = (NotificationStatus.Failed, WebhookEventTypes.NotificationFailed),
        [TimelineEvents.Cancelled] = (NotificationStatus.Cancelled, WebhookEventTypes.NotificationCancelled),
        [TimelineEvents.Skipped] = (NotificationStatus.Skipped, WebhookEventTypes.NotificationSkipped),
        // Provider receipts (ReceiptProcessor) and email tracking (TrackingStore) write these timeline types.
        [DeliveryStatus.Delivered] = (DeliveryStatus.Delivered, WebhookEventTypes.NotificationDelivered),
        [DeliveryStatus.Bounced] = (DeliveryStatus.Bounced, WebhookEventTypes.NotificationBounced),
        [DeliveryStatus.Opened] = (DeliveryStatus.Opened, WebhookEventTypes.NotificationOpened),
        [DeliveryStatus.Clicked] = (DeliveryStatus.Clicked, WebhookEventTypes.NotificationClicked),
    };

    public static bool IsStatusChange(string timelineType) => Changes.ContainsKey(timelineType);

    /// <summary>The outbox row of a status-change timeline row (none for other rows), dated like the row.</summary>
    public static IEnumerable<OutboxMessage> OutboxMessagesFor(NotificationEvent e, NotificationFacts notification)
    {
        if (!Changes.TryGetValue(e.Type, out var change))
        {
            yield break;
        }

        // Dated like the row, so it is ordered after whatever the same transaction wrote before (the relay publishes in id order).
        var data = new WebhookData(e.NotificationId, e.DeliveryId, e.Channel, change.Status, notification.UserId, notification.TemplateKey,
            notification.Metadata, e.CreatedAt);
        yield return OutboxMessage.For(
            new WebhookEventIntegrationEvent(change.WebhookType, JsonSerializer.SerializeToElement(data, JsonSerializerOptions.Web)), e.TenantId, e.CreatedAt);
    }

    /// <summary>
    /// Adds the outbox rows for the status-change timeline rows the context is about to insert. The notification's
    /// facts come from the tracked notification, the ones <see cref="NotificationStore"/> remembered, or one query.
    /// </summary>
    public static async Task AddOutboxMessagesAsync(DeliveryDbContext db, Dictionary<Guid, NotificationFacts> known, HashSet<Guid> done, CancellationToken ct)
    {
        var added = db.ChangeTracker.Entries<NotificationEvent>()
            .Where(x => x.State == EntityState.Added && IsStatusChange(x.Entity.Type) && !done.Contains(x.Entity.Id))
            .Select(x => x.Entity).ToList();
        if (added.Count == 0)
        {
            return;
        }

        foreach (var tracked in db.ChangeTracker.Entries<Notification>())
        {
            known.TryAdd(tracked.Entity.Id, NotificationFacts.Of(tracked.Entity));
        }

        var missing = added.Select(e => e.NotificationId).Where(id => !known.ContainsKey(id)).Distinct().ToList();
        if (missing.Count > 0)
        {
            // The creation times the UUIDv7 ids carry let PostgreSQL prune to their partitions.
            var createdAts = missing.Select(id => UuidV7.CreatedAt(id) ?? default).Distinct().ToList();
            var rows = await db.Notifications.AsNoTracking()
                .Where(n => missing.Contains(n.Id) && createdAts.Contains(n.CreatedAt))
                .Select(n => new { n.Id, n.UserId, n.TemplateKey, n.Metadata }).ToListAsync(ct);
            foreach (var row in rows)
            {
                known.TryAdd(row.Id, new NotificationFacts(row.Id, row.UserId, row.TemplateKey, row.Metadata?.RootElement.Clone()));
            }
        }

        foreach (var e in added)
        {
            // A timeline row always belongs to a stored notification; without one there is nothing to tell.
            if (known.TryGetValue(e.NotificationId, out var facts))
            {
                db.Set<OutboxMessage>().AddRange(OutboxMessagesFor(e, facts));
            }

            done.Add(e.Id);
        }
    }

    /// <summary>The <c>data</c> of a notification.* webhook event.</summary>
    private sealed record WebhookData(
        Guid NotificationId, Guid? DeliveryId, string? Channel, string Status, string? UserId, string TemplateKey, JsonElement? Metadata, DateTimeOffset At);
}
