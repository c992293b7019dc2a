using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Features.Inbox;
using Notify.Modules.Delivery.Inbox;
using Notify.Modules.Delivery.Telemetry;
using Notify.Modules.Templates.Contracts;
using Npgsql;

namespace Notify.Modules.Delivery.Sending;

/// <summary>Settings of the in-app channel's sender (<c>Notify:InApp</c>).</summary>
internal sealed class InAppOptions
{
    public const string Section = "Notify:InApp";

    /// <summary>Deliveries stored per statement; a full batch is followed by the next at once.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>How long the sender waits after a batch that was not full. Short: it bounds accept→inbox latency.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(50);
}

/// <summary>
/// The Worker's in-app channel: moves due in-app deliveries into their recipients' inboxes, a batch per statement,
/// then announces the new items to open streams through <see cref="InboxFanOut"/>.
/// </summary>
/// <remarks>
/// Exactly once by construction: the inbox is in the same database as the deliveries, so one statement claims the
/// batch (<c>FOR UPDATE SKIP LOCKED</c>: concurrent senders take different rows), moves each delivery from
/// <c>queued</c> to <c>sent</c> (guarded on <c>queued</c>, so a row sent or cancelled meanwhile is left alone), inserts
/// the inbox items from exactly the rows it moved and advances the notifications; their <c>sent</c> events and status
/// integration events are copied in the same transaction — all or nothing. A crash before commit leaves the deliveries queued with nothing stored; after commit they are sent
/// and no sender can claim them again. Only the live announcement can be lost (it is published after commit).
/// </remarks>
internal sealed class InAppSender(
    NpgsqlDataSource dataSource,
    InboxFanOut fanOut,
    IOptions<InAppOptions> options,
    TimeProvider clock,
    ILogger<InAppSender> logger) : BackgroundService
{
    private readonly InAppOptions _options = options.Value;

    // Claims, moves to sent, stores the inbox items and advances the notifications in one statement; returns what the
    // timeline events and their status integration events (written next, in the same transaction) need.
    internal static readonly string StoreSql = QueueScans.IndexOrder + $"""
        WITH due AS (
            SELECT id, created_at FROM delivery.deliveries
            WHERE status = '{DeliveryStatus.Queued}' AND channel = '{Channels.InApp}'
              AND (deliver_at IS NULL OR deliver_at <= @now)
              AND (leased_until IS NULL OR leased_until <= @now)
            ORDER BY priority, coalesce(deliver_at, created_at)
            LIMIT @batch
            FOR UPDATE SKIP LOCKED),
        sent AS (
            UPDATE delivery.deliveries d
            SET status = '{DeliveryStatus.Sent}', attempts = d.attempts + 1, leased_until = NULL, last_error = NULL, updated_at = @now
            FROM due WHERE d.id = due.id AND d.created_at = due.created_at AND {DeliveryStatus.StillQueuedSql("d")}
            RETURNING d.id, d.created_at, d.tenant_id, d.notification_id, d.content),
        src AS (
            SELECT s.id, s.tenant_id, s.notification_id, s.content, n.user_id, n.category, n.data, n.template_key, n.metadata,
                   n.created_at AS notification_created_at
            FROM sent s
            JOIN delivery.notifications n ON n.id = s.notification_id AND n.tenant_id = s.tenant_id AND n.created_at <= s.created_at
            WHERE n.user_id IS NOT NULL),
        items AS (
            INSERT INTO delivery.inbox_items (id, created_at, tenant_id, user_id, notification_id, category, title, body, action_url, data)
            SELECT id, @now, tenant_id, user_id, notification_id, category,
                   left(coalesce(content->>'title', ''), 1000), coalesce(content->>'body', ''), left(content->>'actionUrl', 2000), data
            FROM src
            RETURNING id, title, body, action_url),
        advanced AS (
            UPDATE delivery.notifications n SET status = '{NotificationStatus.Sent}', updated_at = @now
            FROM src s
            WHERE n.id = s.notification_id AND n.tenant_id = s.tenant_id AND n.created_at = s.notification_created_at
              AND {NotificationStatus.RankSql} < {NotificationStatus.Rank(NotificationStatus.Sent)})
        SELECT i.id, s.tenant_id, s.user_id, s.notification_id, s.category, i.title, i.body, i.action_url, s.data::text,
               s.template_key, s.metadata::text, s.notification_created_at
        FROM items i JOIN src s ON s.id = i.id
        """;

    // A failed round (the database unreachable, or a deadlock with a concurrent cancel) committed nothing: the batch comes back.
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        SenderLoop.RunAsync(StoreDueAsync, _options.BatchSize, _options.PollInterval, clock, logger, "Storing in-app deliveries failed", stoppingToken);

    /// <summary>Stores one batch of due in-app deliveries in their inboxes and announces them; the number stored.</summary>
    internal async Task<int> StoreDueAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var stored = new List<(Guid TenantId, string UserId, InboxItemResponse Item, DateTimeOffset AcceptedAt)>();
        var events = new List<NotificationEvent>();
        var outbox = new List<OutboxMessage>();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var command = new NpgsqlCommand(StoreSql, connection, transaction))
        {
            command.Parameters.AddWithValue("now", now);
            command.Parameters.AddWithValue("batch", _options.BatchSize);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var (id, tenantId, userId, notificationId) = (reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetGuid(3));
                var data = reader.IsDBNull(8) ? (JsonElement?)null : JsonSerializer.Deserialize<JsonElement>(reader.GetString(8));
                var metadata = reader.IsDBNull(10) ? (JsonElement?)null : JsonSerializer.Deserialize<JsonElement>(reader.GetString(10));
                var item = new InboxItemResponse(
                    id, notificationId, reader.GetString(4), reader.GetString(5), reader.GetString(6),
                    reader.IsDBNull(7) ? null : reader.GetString(7), data, null, null, null, now);
                stored.Add((tenantId, userId, item, reader.GetFieldValue<DateTimeOffset>(11)));

                var sent = new NotificationEvent
                {
                    Id = Ids.New(clock), TenantId = tenantId, NotificationId = notificationId, DeliveryId = id,
                    Channel = Channels.InApp, Type = TimelineEvents.Sent, Detail = "Stored in the inbox.", CreatedAt = now,
                };
                events.Add(sent);
                outbox.AddRange(StatusEvents.OutboxMessagesFor(sent, new NotificationFacts(notificationId, userId, reader.GetString(9), metadata)));
            }
        }

        if (events.Count > 0)
        {
            await BulkCopy.Events.CopyAsync(connection, events, ct);
            await BulkCopy.Outbox.CopyAsync(connection, outbox, ct);
        }

        await transaction.CommitAsync(ct);
        foreach (var (_, _, _, acceptedAt) in stored)
        {
            DeliveryTelemetry.RecordSent(Channels.InApp, acceptedAt, now);
        }

        foreach (var (tenantId, userId, item, _) in stored)
        {
            try
            {
                fanOut.PublishItem(tenantId, userId, item);
            }
            catch (Exception ex) when (ex is StackExchange.Redis.RedisException)
            {
                // Stored and committed; only the live announcement is lost (clients read it from GET /v1/inbox).
                logger.LogWarning(ex, "Announcing inbox item {ItemId} failed", item.Id);
            }
        }

        return stored.Count;
    }
}
