using Notify.Modules.Abstractions.Messaging;
using Npgsql;

namespace Notify.Modules.Delivery.Domain;

/// <summary>
/// What accepting notifications writes: the notifications, an <c>accepted</c> (or <c>scheduled</c>) timeline row each,
/// and their outbox rows — the planner's request and the status events. Built in the request, so the outbox rows carry
/// its trace even when another request's transaction stores them (<see cref="Features.SendNotification.AcceptQueue"/>).
/// </summary>
internal sealed class AcceptRows
{
    public List<Notification> Notifications { get; } = [];
    public List<NotificationEvent> Events { get; } = [];
    public List<OutboxMessage> Outbox { get; } = [];

    public static AcceptRows Of(IReadOnlyList<Notification> notifications, TimeProvider clock)
    {
        var rows = new AcceptRows();
        foreach (var notification in notifications)
        {
            var accepted = notification.Status == NotificationStatus.Scheduled
                ? NotificationStore.NewEventOf(notification, TimelineEvents.Scheduled, $"Scheduled for {notification.ScheduledFor:O}.", clock)
                : NotificationStore.NewEventOf(notification, TimelineEvents.Accepted, null, clock);
            rows.Notifications.Add(notification);
            rows.Events.Add(accepted);
            rows.Outbox.Add(NotificationStore.RequestedMessage(NotificationStore.RequestedOf(notification), accepted.CreatedAt));
            rows.Outbox.AddRange(StatusEvents.OutboxMessagesFor(accepted, NotificationFacts.Of(notification)));
        }

        return rows;
    }

    public void Add(AcceptRows other)
    {
        Notifications.AddRange(other.Notifications);
        Events.AddRange(other.Events);
        Outbox.AddRange(other.Outbox);
    }

    /// <summary>Writes every row by binary COPY in the connection's current transaction.</summary>
    public async Task CopyAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await BulkCopy.NotificationsAsync(connection, Notifications, ct);
        await BulkCopy.EventsAsync(connection, Events, ct);
        await BulkCopy.OutboxAsync(connection, Outbox, ct);
    }
}
