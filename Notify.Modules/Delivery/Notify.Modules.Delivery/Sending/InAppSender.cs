using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Features.Inbox;
using Notify.Modules.Delivery.Inbox;
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
/// the inbox items from exactly the rows it moved, writes their <c>sent</c> events and advances the notifications —
/// all or nothing. A crash before commit leaves the deliveries queued with nothing stored; after commit they are sent
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

    private static readonly string StoreSql = $"""
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
            FROM due WHERE d.id = due.id AND d.created_at = due.created_at AND d.status = '{DeliveryStatus.Queued}'
            RETURNING d.id, d.created_at, d.tenant_id, d.notification_id, d.content),
        items AS (
            INSERT INTO delivery.inbox_items (id, created_at, tenant_id, user_id, notification_id, category, title, body, action_url, data)
            SELECT s.id, @now, s.tenant_id, n.user_id, s.notification_id, n.category,
                   left(coalesce(s.content->>'title', ''), 1000), coalesce(s.content->>'body', ''), left(s.content->>'actionUrl', 2000), n.data
            FROM sent s
            JOIN delivery.notifications n ON n.id = s.notification_id AND n.tenant_id = s.tenant_id AND n.created_at <= s.created_at
            WHERE n.user_id IS NOT NULL
            RETURNING id, created_at, tenant_id, user_id, notification_id, category, title, body, action_url, data),
        events AS (
            INSERT INTO delivery.notification_events (id, created_at, tenant_id, notification_id, delivery_id, channel, type, detail)
            SELECT {UuidV7Sql}, @now, s.tenant_id, s.notification_id, s.id, '{Channels.InApp}', '{TimelineEvents.Sent}', 'Stored in the inbox.'
            FROM sent s),
        advanced AS (
            UPDATE delivery.notifications n SET status = '{NotificationStatus.Sent}', updated_at = @now
            FROM sent s
            WHERE n.id = s.notification_id AND n.tenant_id = s.tenant_id AND n.created_at <= s.created_at
              AND {NotificationStatus.RankSql} < {NotificationStatus.Rank(NotificationStatus.Sent)})
        SELECT id, created_at, tenant_id, user_id, notification_id, category, title, body, action_url, data::text FROM items
        """;

    /// <summary>A UUIDv7 for each event row, from @now like <see cref="Abstractions.Ids.New"/> (PostgreSQL 15 has no uuidv7()).</summary>
    private const string UuidV7Sql =
        "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing substring(int8send(floor(extract(epoch from @now) * 1000)::bigint) from 3) from 1 for 6), 52, 1), 53, 1), 'hex')::uuid";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var stored = 0;
            try
            {
                stored = await StoreDueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The database was unreachable, or a deadlock with a concurrent cancel: nothing committed, the batch comes back.
                logger.LogError(ex, "Storing in-app deliveries failed; trying again shortly");
            }

            if (stored < _options.BatchSize)
            {
                try
                {
                    await Task.Delay(_options.PollInterval, clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>Stores one batch of due in-app deliveries in their inboxes and announces them; the number stored.</summary>
    internal async Task<int> StoreDueAsync(CancellationToken ct)
    {
        var stored = new List<(Guid TenantId, string UserId, InboxItemResponse Item)>();
        await using (var command = dataSource.CreateCommand(StoreSql))
        {
            command.Parameters.AddWithValue("now", clock.GetUtcNow());
            command.Parameters.AddWithValue("batch", _options.BatchSize);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var data = reader.IsDBNull(9) ? (JsonElement?)null : JsonSerializer.Deserialize<JsonElement>(reader.GetString(9));
                var item = new InboxItemResponse(
                    reader.GetGuid(0), reader.GetGuid(4), reader.GetString(5), reader.GetString(6), reader.GetString(7),
                    reader.IsDBNull(8) ? null : reader.GetString(8), data, null, null, null, reader.GetFieldValue<DateTimeOffset>(1));
                stored.Add((reader.GetGuid(2), reader.GetString(3), item));
            }
        }

        foreach (var (tenantId, userId, item) in stored)
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
