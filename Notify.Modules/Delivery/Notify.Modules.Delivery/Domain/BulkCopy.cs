using Notify.Modules.Abstractions.Messaging;
using Npgsql;
using NpgsqlTypes;

namespace Notify.Modules.Delivery.Domain;

/// <summary>
/// Writes many rows at once with binary COPY, in the connection's current transaction, instead of the change tracker's
/// row-by-row inserts: accepting sends (<see cref="AcceptRows"/>), the senders and the planner's saves
/// (<see cref="Data.DeliveryDbContext"/>) use it. Each table's columns and row values are written down once here, for
/// COPY and for the single-row INSERTs of a small accept alike.
/// </summary>
internal static class BulkCopy
{
    public static readonly Table<Notification> Notifications = new("""
        delivery.notifications (id, created_at, tenant_id, template_key, template_version, category, priority, user_id,
            inline_recipient, data, metadata, channels, status, scheduled_for, release_at, idempotency_key, updated_at)
        """,
        n =>
        [
            (n.Id, NpgsqlDbType.Uuid), (n.CreatedAt, NpgsqlDbType.TimestampTz), (n.TenantId, NpgsqlDbType.Uuid),
            (n.TemplateKey, NpgsqlDbType.Varchar), (n.TemplateVersion, NpgsqlDbType.Integer), (n.Category, NpgsqlDbType.Varchar),
            (n.Priority, NpgsqlDbType.Varchar), (n.UserId, NpgsqlDbType.Varchar), (n.InlineRecipient?.RootElement.GetRawText(), NpgsqlDbType.Jsonb),
            (n.Data?.RootElement.GetRawText(), NpgsqlDbType.Jsonb), (n.Metadata?.RootElement.GetRawText(), NpgsqlDbType.Jsonb),
            (n.Channels, NpgsqlDbType.Array | NpgsqlDbType.Text), (n.Status, NpgsqlDbType.Varchar), (n.ScheduledFor, NpgsqlDbType.TimestampTz),
            (n.ReleaseAt, NpgsqlDbType.TimestampTz), (n.IdempotencyKey, NpgsqlDbType.Varchar), (n.UpdatedAt, NpgsqlDbType.TimestampTz),
        ]);

    public static readonly Table<ChannelDelivery> Deliveries = new("""
        delivery.deliveries (id, created_at, tenant_id, notification_id, channel, status, priority, address, provider_message_id, device,
            deliver_at, attempts, leased_until, handed_over_at, provider_id, cost, last_error, content, trace_parent, updated_at)
        """,
        d =>
        [
            (d.Id, NpgsqlDbType.Uuid), (d.CreatedAt, NpgsqlDbType.TimestampTz), (d.TenantId, NpgsqlDbType.Uuid), (d.NotificationId, NpgsqlDbType.Uuid),
            (d.Channel, NpgsqlDbType.Varchar), (d.Status, NpgsqlDbType.Varchar), (d.Priority, NpgsqlDbType.Smallint), (d.Address, NpgsqlDbType.Varchar),
            (d.ProviderMessageId, NpgsqlDbType.Varchar), (d.Device, NpgsqlDbType.Jsonb), (d.DeliverAt, NpgsqlDbType.TimestampTz),
            (d.Attempts, NpgsqlDbType.Integer), (d.LeasedUntil, NpgsqlDbType.TimestampTz), (d.HandedOverAt, NpgsqlDbType.TimestampTz),
            (d.ProviderId, NpgsqlDbType.Uuid), (d.Cost, NpgsqlDbType.Numeric), (d.LastError, NpgsqlDbType.Varchar), (d.Content, NpgsqlDbType.Jsonb),
            (d.TraceParent, NpgsqlDbType.Varchar), (d.UpdatedAt, NpgsqlDbType.TimestampTz),
        ]);

    public static readonly Table<NotificationEvent> Events = new(
        "delivery.notification_events (id, created_at, tenant_id, notification_id, delivery_id, channel, type, detail)",
        e =>
        [
            (e.Id, NpgsqlDbType.Uuid), (e.CreatedAt, NpgsqlDbType.TimestampTz), (e.TenantId, NpgsqlDbType.Uuid), (e.NotificationId, NpgsqlDbType.Uuid),
            (e.DeliveryId, NpgsqlDbType.Uuid), (e.Channel, NpgsqlDbType.Varchar), (e.Type, NpgsqlDbType.Varchar), (e.Detail, NpgsqlDbType.Varchar),
        ]);

    /// <summary>Outbox rows; the table's statement trigger still wakes the relay (COPY fires INSERT triggers).</summary>
    public static readonly Table<OutboxMessage> Outbox = new(
        $"delivery.{OutboxExtensions.OutboxTable} (id, type, tenant_id, occurred_at, payload, trace_parent, trace_state)",
        m =>
        [
            (m.Id, NpgsqlDbType.Uuid), (m.Type, NpgsqlDbType.Varchar), (m.TenantId, NpgsqlDbType.Uuid), (m.OccurredAt, NpgsqlDbType.TimestampTz),
            (m.Payload, NpgsqlDbType.Jsonb), (m.TraceParent, NpgsqlDbType.Text), (m.TraceState, NpgsqlDbType.Text),
        ]);

    /// <summary>A table as written here: its columns, and a row's values in their order with their PostgreSQL types.</summary>
    internal sealed class Table<T>(string columns, Func<T, (object? Value, NpgsqlDbType Type)[]> valuesOf)
    {
        private readonly string _insertSql =
            $"INSERT INTO {columns} VALUES ({string.Join(", ", Enumerable.Range(1, columns.Count(c => c == ',') + 1).Select(i => $"${i}"))})";

        /// <summary>Writes the rows by binary COPY.</summary>
        public async Task CopyAsync(NpgsqlConnection connection, IReadOnlyList<T> rows, CancellationToken ct)
        {
            await using var copy = await connection.BeginBinaryImportAsync($"COPY {columns} FROM STDIN (FORMAT BINARY)", ct);
            foreach (var row in rows)
            {
                await copy.StartRowAsync(ct);
                foreach (var (value, type) in valuesOf(row))
                {
                    if (value is null)
                    {
                        await copy.WriteNullAsync(ct);
                    }
                    else
                    {
                        await copy.WriteAsync(value, type, ct);
                    }
                }
            }

            await copy.CompleteAsync(ct);
        }

        /// <summary>The INSERT of one row, for a batch.</summary>
        public NpgsqlBatchCommand Insert(T row)
        {
            var command = new NpgsqlBatchCommand(_insertSql);
            foreach (var (value, type) in valuesOf(row))
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value, NpgsqlDbType = type });
            }

            return command;
        }
    }
}
