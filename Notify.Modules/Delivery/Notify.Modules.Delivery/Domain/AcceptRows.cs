using Notify.Modules.Abstractions.Messaging;
using Npgsql;
using NpgsqlTypes;

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
    /// is not busy, then costs one round trip and its commit instead of seven.
    /// </summary>
    internal const int InsertLimit = 16;

    /// <summary>Writes every row in the connection's current transaction.</summary>
    public async Task WriteAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        if (Notifications.Count > InsertLimit)
        {
            await BulkCopy.NotificationsAsync(connection, Notifications, ct);
            await BulkCopy.EventsAsync(connection, Events, ct);
            await BulkCopy.OutboxAsync(connection, Outbox, ct);
            return;
        }

        await using var batch = new NpgsqlBatch(connection);
        foreach (var n in Notifications)
        {
            batch.BatchCommands.Add(Insert(BulkCopy.NotificationColumns,
                (n.Id, NpgsqlDbType.Uuid), (n.CreatedAt, NpgsqlDbType.TimestampTz), (n.TenantId, NpgsqlDbType.Uuid),
                (n.TemplateKey, NpgsqlDbType.Varchar), (n.TemplateVersion, NpgsqlDbType.Integer), (n.Category, NpgsqlDbType.Varchar),
                (n.Priority, NpgsqlDbType.Varchar), (n.UserId, NpgsqlDbType.Varchar), (n.InlineRecipient?.RootElement.GetRawText(), NpgsqlDbType.Jsonb),
                (n.Data?.RootElement.GetRawText(), NpgsqlDbType.Jsonb), (n.Metadata?.RootElement.GetRawText(), NpgsqlDbType.Jsonb),
                (n.Channels, NpgsqlDbType.Array | NpgsqlDbType.Text), (n.Status, NpgsqlDbType.Varchar), (n.ScheduledFor, NpgsqlDbType.TimestampTz),
                (n.IdempotencyKey, NpgsqlDbType.Varchar), (n.UpdatedAt, NpgsqlDbType.TimestampTz)));
        }

        foreach (var e in Events)
        {
            batch.BatchCommands.Add(Insert(BulkCopy.EventColumns,
                (e.Id, NpgsqlDbType.Uuid), (e.CreatedAt, NpgsqlDbType.TimestampTz), (e.TenantId, NpgsqlDbType.Uuid), (e.NotificationId, NpgsqlDbType.Uuid),
                (e.DeliveryId, NpgsqlDbType.Uuid), (e.Channel, NpgsqlDbType.Varchar), (e.Type, NpgsqlDbType.Varchar), (e.Detail, NpgsqlDbType.Varchar)));
        }

        foreach (var m in Outbox)
        {
            batch.BatchCommands.Add(Insert(BulkCopy.OutboxColumns,
                (m.Id, NpgsqlDbType.Uuid), (m.Type, NpgsqlDbType.Varchar), (m.TenantId, NpgsqlDbType.Uuid), (m.OccurredAt, NpgsqlDbType.TimestampTz),
                (m.Payload, NpgsqlDbType.Jsonb), (m.TraceParent, NpgsqlDbType.Text), (m.TraceState, NpgsqlDbType.Text)));
        }

        await batch.ExecuteNonQueryAsync(ct);
    }

    private static NpgsqlBatchCommand Insert(string table, params (object? Value, NpgsqlDbType Type)[] values)
    {
        var command = new NpgsqlBatchCommand($"INSERT INTO {table} VALUES ({string.Join(", ", values.Select((_, i) => $"${i + 1}"))})");
        foreach (var (value, type) in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value, NpgsqlDbType = type });
        }

        return command;
    }
}
