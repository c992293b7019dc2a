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

    /// <summary>
    /// Up to this many notifications are written as one batch of INSERTs — one round trip for all three tables — and more
    /// by COPY, which costs two round trips per table but far less per row. A single send, the common case when the API
    /// is not busy, then costs one round trip instead of seven, and without an idempotency key not even a COMMIT after
    /// it (the batch is its own implicit transaction: <see cref="NotificationStore.StoreAcceptedAsync"/>).
    /// </summary>
    internal const int InsertLimit = 16;

    /// <summary>Writes every row in the connection's current transaction (or, as one batch of INSERTs, in the batch's own).</summary>
    public async Task WriteAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        if (Notifications.Count > InsertLimit)
        {
            await BulkCopy.Notifications.CopyAsync(connection, Notifications, ct);
            await BulkCopy.Events.CopyAsync(connection, Events, ct);
            await BulkCopy.Outbox.CopyAsync(connection, Outbox, ct);
            return;
        }

        await using var batch = new NpgsqlBatch(connection);
        Notifications.ForEach(n => batch.BatchCommands.Add(BulkCopy.Notifications.Insert(n)));
        Events.ForEach(e => batch.BatchCommands.Add(BulkCopy.Events.Insert(e)));
        Outbox.ForEach(m => batch.BatchCommands.Add(BulkCopy.Outbox.Insert(m)));
        await batch.ExecuteNonQueryAsync(ct);
    }
}
