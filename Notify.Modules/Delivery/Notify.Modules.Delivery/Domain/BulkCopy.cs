using Notify.Modules.Abstractions.Messaging;
using Npgsql;
using NpgsqlTypes;

namespace Notify.Modules.Delivery.Domain;

/// <summary>
/// Writes many rows at once with binary COPY, in the connection's current transaction, instead of the change tracker's
/// row-by-row inserts: accepting sends (<see cref="AcceptRows"/>), the senders and the planner's saves (<see cref="Data.DeliveryDbContext"/>) use it.
/// </summary>
internal static class BulkCopy
{
    /// <summary>The columns each table's rows are written with, in the order of the values (also <see cref="AcceptRows"/>'s INSERTs).</summary>
    public const string NotificationColumns = """
        delivery.notifications (id, created_at, tenant_id, template_key, template_version, category, priority, user_id,
            inline_recipient, data, metadata, channels, status, scheduled_for, idempotency_key, updated_at)
        """;

    public const string EventColumns = "delivery.notification_events (id, created_at, tenant_id, notification_id, delivery_id, channel, type, detail)";

    public const string OutboxColumns = $"delivery.{OutboxExtensions.OutboxTable} (id, type, tenant_id, occurred_at, payload, trace_parent, trace_state)";

    public static async Task NotificationsAsync(NpgsqlConnection connection, IReadOnlyList<Notification> rows, CancellationToken ct)
    {
        await using var copy = await connection.BeginBinaryImportAsync($"COPY {NotificationColumns} FROM STDIN (FORMAT BINARY)", ct);
        foreach (var n in rows)
        {
            await copy.StartRowAsync(ct);
            await copy.WriteAsync(n.Id, NpgsqlDbType.Uuid, ct);
            await copy.WriteAsync(n.CreatedAt, NpgsqlDbType.TimestampTz, ct);
            await copy.WriteAsync(n.TenantId, NpgsqlDbType.Uuid, ct);
            await copy.WriteAsync(n.TemplateKey, NpgsqlDbType.Varchar, ct);
            await copy.WriteAsync(n.TemplateVersion, NpgsqlDbType.Integer, ct);
            await copy.WriteAsync(n.Category, NpgsqlDbType.Varchar, ct);
            await copy.WriteAsync(n.Priority, NpgsqlDbType.Varchar, ct);
            await WriteNullableAsync(copy, n.UserId, NpgsqlDbType.Varchar, ct);
            await WriteNullableAsync(copy, n.InlineRecipient?.RootElement.GetRawText(), NpgsqlDbType.Jsonb, ct);
            await WriteNullableAsync(copy, n.Data?.RootElement.GetRawText(), NpgsqlDbType.Jsonb, ct);
            await WriteNullableAsync(copy, n.Metadata?.RootElement.GetRawText(), NpgsqlDbType.Jsonb, ct);
            await copy.WriteAsync(n.Channels, NpgsqlDbType.Array | NpgsqlDbType.Text, ct);
            await copy.WriteAsync(n.Status, NpgsqlDbType.Varchar, ct);
            await WriteNullableAsync(copy, n.ScheduledFor, NpgsqlDbType.TimestampTz, ct);
            await WriteNullableAsync(copy, n.IdempotencyKey, NpgsqlDbType.Varchar, ct);
            await copy.WriteAsync(n.UpdatedAt, NpgsqlDbType.TimestampTz, ct);
        }

        await copy.CompleteAsync(ct);
    }

    public static async Task DeliveriesAsync(NpgsqlConnection connection, IReadOnlyList<ChannelDelivery> rows, CancellationToken ct)
    {
        await using var copy = await connection.BeginBinaryImportAsync("""
            COPY delivery.deliveries (id, created_at, tenant_id, notification_id, channel, status, priority, address, provider_message_id, device,
                deliver_at, attempts, leased_until, handed_over_at, provider_id, cost, last_error, content, trace_parent, updated_at) FROM STDIN (FORMAT BINARY)
            """, ct);
        foreach (var d in rows)
        {
            await copy.StartRowAsync(ct);
            await copy.WriteAsync(d.Id, NpgsqlDbType.Uuid, ct);
            await copy.WriteAsync(d.CreatedAt, NpgsqlDbType.TimestampTz, ct);
            await copy.WriteAsync(d.TenantId, NpgsqlDbType.Uuid, ct);
            await copy.WriteAsync(d.NotificationId, NpgsqlDbType.Uuid, ct);
            await copy.WriteAsync(d.Channel, NpgsqlDbType.Varchar, ct);
            await copy.WriteAsync(d.Status, NpgsqlDbType.Varchar, ct);
            await copy.WriteAsync(d.Priority, NpgsqlDbType.Smallint, ct);
            await WriteNullableAsync(copy, d.Address, NpgsqlDbType.Varchar, ct);
            await WriteNullableAsync(copy, d.ProviderMessageId, NpgsqlDbType.Varchar, ct);
            await WriteNullableAsync(copy, d.Device, NpgsqlDbType.Jsonb, ct);
            await WriteNullableAsync(copy, d.DeliverAt, NpgsqlDbType.TimestampTz, ct);
            await copy.WriteAsync(d.Attempts, NpgsqlDbType.Integer, ct);
            await WriteNullableAsync(copy, d.LeasedUntil, NpgsqlDbType.TimestampTz, ct);
            await WriteNullableAsync(copy, d.HandedOverAt, NpgsqlDbType.TimestampTz, ct);
            await WriteNullableAsync(copy, d.ProviderId, NpgsqlDbType.Uuid, ct);
            await WriteNullableAsync(copy, d.Cost, NpgsqlDbType.Numeric, ct);
            await WriteNullableAsync(copy, d.LastError, NpgsqlDbType.Varchar, ct);
            await WriteNullableAsync(copy, d.Content, NpgsqlDbType.Jsonb, ct);
            await WriteNullableAsync(copy, d.TraceParent, NpgsqlDbType.Varchar, ct);
            await copy.WriteAsync(d.UpdatedAt, NpgsqlDbType.TimestampTz, ct);
        }

        await copy.CompleteAsync(ct);
    }

    public static async Task EventsAsync(NpgsqlConnection connection, IReadOnlyList<NotificationEvent> rows, CancellationToken ct)
    {
        await using var copy = await connection.BeginBinaryImportAsync($"COPY {EventColumns} FROM STDIN (FORMAT BINARY)", ct);
        foreach (var e in rows)
        {
            await copy.StartRowAsync(ct);
            await copy.WriteAsync(e.Id, NpgsqlDbType.Uuid, ct);
            await copy.WriteAsync(e.CreatedAt, NpgsqlDbType.TimestampTz, ct);
            await copy.WriteAsync(e.TenantId, NpgsqlDbType.Uuid, ct);
            await copy.WriteAsync(e.NotificationId, NpgsqlDbType.Uuid, ct);
            await WriteNullableAsync(copy, e.DeliveryId, NpgsqlDbType.Uuid, ct);
            await WriteNullableAsync(copy, e.Channel, NpgsqlDbType.Varchar, ct);
            await copy.WriteAsync(e.Type, NpgsqlDbType.Varchar, ct);
            await WriteNullableAsync(copy, e.Detail, NpgsqlDbType.Varchar, ct);
        }

        await copy.CompleteAsync(ct);
    }

    /// <summary>Outbox rows in bulk; the table's statement trigger still wakes the relay (COPY fires INSERT triggers).</summary>
    public static async Task OutboxAsync(NpgsqlConnection connection, IReadOnlyList<OutboxMessage> rows, CancellationToken ct)
    {
        await using var copy = await connection.BeginBinaryImportAsync($"COPY {OutboxColumns} FROM STDIN (FORMAT BINARY)", ct);
        foreach (var m in rows)
        {
            await copy.StartRowAsync(ct);
            await copy.WriteAsync(m.Id, NpgsqlDbType.Uuid, ct);
            await copy.WriteAsync(m.Type, NpgsqlDbType.Varchar, ct);
            await WriteNullableAsync(copy, m.TenantId, NpgsqlDbType.Uuid, ct);
            await copy.WriteAsync(m.OccurredAt, NpgsqlDbType.TimestampTz, ct);
            await copy.WriteAsync(m.Payload, NpgsqlDbType.Jsonb, ct);
            await WriteNullableAsync(copy, m.TraceParent, NpgsqlDbType.Text, ct);
            await WriteNullableAsync(copy, m.TraceState, NpgsqlDbType.Text, ct);
        }

        await copy.CompleteAsync(ct);
    }

    private static async Task WriteNullableAsync<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken ct)
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
