using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Delivery.Contracts;
using Notify.Modules.Delivery.Data;
using Npgsql;
using NpgsqlTypes;

namespace Notify.Modules.Delivery.Domain;

/// <summary>
/// Stores many accepted notifications at once — rows, timeline, requested and status events — with binary COPY into
/// each table inside one transaction, instead of the change tracker's row-by-row inserts. The batch endpoint's path.
/// </summary>
internal sealed class BulkNotificationWriter(DeliveryDbContext db, TimeProvider clock)
{
    /// <summary>Like <see cref="NotificationStore.AcceptAsync"/>: everything or nothing, and with a key, the answer for repeats.</summary>
    public async Task<AcceptOutcome> AcceptAsync(
        Guid tenantId, IReadOnlyList<Notification> notifications, string? idempotencyKey, string requestHash, int statusCode, string responseJson, CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (idempotencyKey is not null)
        {
            await using var claim = new NpgsqlCommand("""
                INSERT INTO delivery.idempotency_keys (tenant_id, key, request_hash, status_code, response, created_at)
                VALUES ($1, $2, $3, $4, $5::jsonb, $6) ON CONFLICT (tenant_id, key) DO NOTHING
                """, connection);
            claim.Parameters.Add(new NpgsqlParameter { Value = tenantId });
            claim.Parameters.Add(new NpgsqlParameter { Value = idempotencyKey });
            claim.Parameters.Add(new NpgsqlParameter { Value = requestHash });
            claim.Parameters.Add(new NpgsqlParameter { Value = statusCode });
            claim.Parameters.Add(new NpgsqlParameter { Value = responseJson });
            claim.Parameters.Add(new NpgsqlParameter { Value = clock.GetUtcNow() });
            if (await claim.ExecuteNonQueryAsync(ct) == 0)
            {
                await transaction.RollbackAsync(ct);
                var winner = await db.IdempotencyKeys.AsNoTracking().FirstOrDefaultAsync(r => r.TenantId == tenantId && r.Key == idempotencyKey, ct)
                    ?? throw new InvalidOperationException("An idempotency key that conflicted is gone.");
                return new AcceptOutcome.Replayed(winner);
            }
        }

        var events = new List<NotificationEvent>(notifications.Count);
        var outbox = new List<OutboxMessage>(notifications.Count * 3);
        foreach (var notification in notifications)
        {
            var scheduled = notification.Status == NotificationStatus.Scheduled;
            var e = NotificationStore.NewEventOf(notification, scheduled ? TimelineEvents.Scheduled : TimelineEvents.Accepted,
                scheduled ? $"Scheduled for {notification.ScheduledFor:O}." : null, clock);
            events.Add(e);
            outbox.Add(RequestedMessage(notification));
            outbox.AddRange(StatusEvents.OutboxMessagesFor(e, NotificationFacts.Of(notification)));
        }

        await CopyNotificationsAsync(connection, notifications, ct);
        await CopyEventsAsync(connection, events, ct);
        await CopyOutboxAsync(connection, outbox, ct);
        await transaction.CommitAsync(ct);
        return new AcceptOutcome.Stored();
    }

    /// <summary>The planner's trigger, routed by priority like <see cref="OutboxExtensions.AddIntegrationEvent{TEvent}"/> does.</summary>
    private OutboxMessage RequestedMessage(Notification n)
    {
        var activity = System.Diagnostics.Activity.Current;
        return new OutboxMessage
        {
            Id = Abstractions.Ids.New(clock),
            Type = $"{NotificationRequestedIntegrationEvent.EventType}.{n.Priority}",
            TenantId = n.TenantId,
            OccurredAt = n.CreatedAt,
            Payload = JsonSerializer.Serialize(
                new NotificationRequestedIntegrationEvent(n.TenantId, n.Id, n.CreatedAt, n.Priority, n.ScheduledFor), JsonSerializerOptions.Web),
            TraceParent = activity?.Id,
            TraceState = activity?.TraceStateString,
        };
    }

    private static async Task CopyNotificationsAsync(NpgsqlConnection connection, IReadOnlyList<Notification> rows, CancellationToken ct)
    {
        await using var copy = await connection.BeginBinaryImportAsync("""
            COPY delivery.notifications (id, created_at, tenant_id, template_key, template_version, category, priority, user_id,
                inline_recipient, data, metadata, channels, status, scheduled_for, idempotency_key, updated_at) FROM STDIN (FORMAT BINARY)
            """, ct);
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

    internal static async Task CopyEventsAsync(NpgsqlConnection connection, List<NotificationEvent> rows, CancellationToken ct)
    {
        await using var copy = await connection.BeginBinaryImportAsync("""
            COPY delivery.notification_events (id, created_at, tenant_id, notification_id, delivery_id, channel, type, detail) FROM STDIN (FORMAT BINARY)
            """, ct);
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
    internal static async Task CopyOutboxAsync(NpgsqlConnection connection, List<OutboxMessage> rows, CancellationToken ct)
    {
        await using var copy = await connection.BeginBinaryImportAsync(
            $"COPY delivery.{OutboxExtensions.OutboxTable} (id, type, tenant_id, occurred_at, payload, trace_parent, trace_state) FROM STDIN (FORMAT BINARY)", ct);
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
