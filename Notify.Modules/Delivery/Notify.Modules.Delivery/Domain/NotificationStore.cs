using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Delivery.Contracts;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Telemetry;
using Notify.Modules.Templates.Contracts;
using Npgsql;

namespace Notify.Modules.Delivery.Domain;

/// <summary>What became of an accepted send: stored now, or the answer an earlier request with the same key got.</summary>
internal abstract record AcceptOutcome
{
    public sealed record Stored : AcceptOutcome;

    public sealed record Replayed(IdempotencyRecord Record) : AcceptOutcome;
}

/// <summary>A send to store: its rows and, when it came with an idempotency key, the answer its repeats get.</summary>
internal sealed record AcceptedSend(AcceptRows Rows, IdempotencyRecord? Key);

/// <summary>A notification with its deliveries and timeline, read together.</summary>
internal sealed record NotificationWithDetails(Notification Notification, List<ChannelDelivery> Deliveries, List<NotificationEvent> Events);

/// <summary>Writes and reads notifications; every state change and its outbox event commit together.</summary>
internal sealed class NotificationStore(DeliveryDbContext db, TimeProvider clock)
{
    public DeliveryDbContext Db => db;

    public Task<IdempotencyRecord?> FindIdempotencyAsync(Guid tenantId, string key, CancellationToken ct) =>
        db.IdempotencyKeys.AsNoTracking().FirstOrDefaultAsync(r => r.TenantId == tenantId && r.Key == key, ct);

    /// <summary>
    /// Stores the notifications with an <c>accepted</c> (or <c>scheduled</c>) timeline row each and their outbox rows
    /// (the planner's request and the status events) and, with a key, the answer for repeats — all in one transaction
    /// (<see cref="StoreAcceptedAsync"/>). When another request with the same key got there first (the unique key decides),
    /// nothing is stored and that request's record is returned.
    /// </summary>
    public async Task<AcceptOutcome> AcceptAsync(IReadOnlyList<Notification> notifications, IdempotencyRecord? key, CancellationToken ct)
    {
        var lost = await StoreAcceptedAsync([new AcceptedSend(AcceptRows.Of(notifications, clock), key)], ct);
        return lost.Count == 0 ? new AcceptOutcome.Stored() : new AcceptOutcome.Replayed(await WinnerAsync(key!, ct));
    }

    /// <summary>What a send with an idempotency key stores for its repeats: the request's hash and the answer it got.</summary>
    public IdempotencyRecord NewIdempotencyRecord(Guid tenantId, string key, string requestHash, int statusCode, string responseJson) => new()
    {
        TenantId = tenantId, Key = key, RequestHash = requestHash, StatusCode = statusCode, Response = responseJson, CreatedAt = clock.GetUtcNow(),
    };

    /// <summary>
    /// Stores sends in one transaction (also <see cref="Features.SendNotification.AcceptQueue"/>'s group commit of many
    /// requests): each send's idempotency key is claimed first, and only the sends that claimed theirs, and those without
    /// one, have their rows written. The unique key decides between two sends with the same key: an insert of it by a
    /// concurrent transaction is waited for, and within the group the first send wins. The positions of the sends that
    /// lost their key; their requests answer with the winner's record (<see cref="WinnerAsync"/>).
    /// </summary>
    public async Task<IReadOnlySet<int>> StoreAcceptedAsync(IReadOnlyList<AcceptedSend> sends, CancellationToken ct)
    {
        // Without keys to claim, rows that fit one batch of INSERTs (a single send most of all) need no transaction of
        // their own: the batch is one implicit transaction, all of it or nothing, and they cost one round trip, no COMMIT.
        var oneBatch = sends.All(s => s.Key is null) && sends.Sum(s => s.Rows.Notifications.Count) <= AcceptRows.InsertLimit;
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var transaction = oneBatch ? null : await db.Database.BeginTransactionAsync(ct);
            var connection = (NpgsqlConnection)db.Database.GetDbConnection();
            var lost = await ClaimIdempotencyKeysAsync(connection, sends, ct);
            var rows = new AcceptRows();
            for (var i = 0; i < sends.Count; i++)
            {
                if (!lost.Contains(i))
                {
                    rows.Add(sends[i].Rows);
                }
            }

            if (rows.Notifications.Count > 0)
            {
                await rows.WriteAsync(connection, ct);
            }

            if (transaction is not null)
            {
                await transaction.CommitAsync(ct);
            }

            RecordAccepted(rows.Notifications);
            return lost;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>The record of the send that won <paramref name="key"/> over this one; it has committed by the time this one did.</summary>
    public async Task<IdempotencyRecord> WinnerAsync(IdempotencyRecord key, CancellationToken ct) =>
        await FindIdempotencyAsync(key.TenantId, key.Key, ct) ?? throw new InvalidOperationException("An idempotency key that conflicted is gone.");

    /// <summary>Inserts the sends' idempotency records in the current transaction; the positions of the sends whose key was taken.</summary>
    private static async Task<HashSet<int>> ClaimIdempotencyKeysAsync(NpgsqlConnection connection, IReadOnlyList<AcceptedSend> sends, CancellationToken ct)
    {
        var lost = new HashSet<int>();
        var tried = new Dictionary<(Guid TenantId, string Key), int>();
        for (var i = 0; i < sends.Count; i++)
        {
            if (sends[i].Key is { } key && !tried.TryAdd((key.TenantId, key.Key), i))
            {
                lost.Add(i);
            }
        }

        if (tried.Count == 0)
        {
            return lost;
        }

        // In key order, so two transactions inserting the same keys wait for each other in one order and never deadlock.
        var records = tried.Select(t => sends[t.Value].Key!).OrderBy(k => k.TenantId).ThenBy(k => k.Key, StringComparer.Ordinal).ToList();
        await using var command = new NpgsqlCommand("""
            INSERT INTO delivery.idempotency_keys (tenant_id, key, request_hash, status_code, response, created_at)
            SELECT tenant_id, key, request_hash, status_code, response::jsonb, created_at
            FROM unnest(@tenantIds, @keys, @hashes, @statusCodes, @responses, @createdAts)
                AS r(tenant_id, key, request_hash, status_code, response, created_at)
            ON CONFLICT (tenant_id, key) DO NOTHING
            RETURNING tenant_id, key
            """, connection);
        command.Parameters.AddWithValue("tenantIds", records.Select(r => r.TenantId).ToArray());
        command.Parameters.AddWithValue("keys", records.Select(r => r.Key).ToArray());
        command.Parameters.AddWithValue("hashes", records.Select(r => r.RequestHash).ToArray());
        command.Parameters.AddWithValue("statusCodes", records.Select(r => r.StatusCode).ToArray());
        command.Parameters.AddWithValue("responses", records.Select(r => r.Response).ToArray());
        command.Parameters.AddWithValue("createdAts", records.Select(r => r.CreatedAt).ToArray());
        var claimed = new HashSet<(Guid, string)>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                claimed.Add((reader.GetGuid(0), reader.GetString(1)));
            }
        }

        foreach (var (key, position) in tried)
        {
            if (!claimed.Contains(key))
            {
                lost.Add(position);
            }
        }

        return lost;
    }

    public static NotificationRequestedIntegrationEvent RequestedOf(Notification n) =>
        new(n.TenantId, n.Id, n.CreatedAt, n.Priority, n.ScheduledFor);

    /// <summary>The planner's trigger, routed by priority so each priority has its own queue (see <see cref="DeliveryModule"/>).</summary>
    public static OutboxMessage RequestedMessage(NotificationRequestedIntegrationEvent requested, DateTimeOffset at) =>
        OutboxMessage.For(requested, requested.TenantId, at, routingSuffix: requested.Priority);

    private static void RecordAccepted(IReadOnlyList<Notification> notifications)
    {
        foreach (var byPriority in notifications.GroupBy(n => n.Priority))
        {
            DeliveryTelemetry.RecordAccepted(byPriority.Key, byPriority.Count());
        }
    }

    /// <summary>The tenant's notification with this id (found through the creation time its UUIDv7 carries), or null.</summary>
    public async Task<Notification?> FindAsync(Guid tenantId, Guid id, CancellationToken ct)
    {
        if (UuidV7.CreatedAt(id) is not { } createdAt)
        {
            return null;
        }

        return await db.Notifications.AsNoTracking()
            .FirstOrDefaultAsync(n => n.Id == id && n.CreatedAt == createdAt && n.TenantId == tenantId, ct);
    }

    /// <summary>
    /// The tenant's notification with its deliveries and timeline (oldest first), or null. All three are read in one
    /// snapshot, so a planner or sender committing in between cannot show a status without its deliveries or events.
    /// Deliveries and events are created no earlier than the notification, which prunes older partitions.
    /// </summary>
    public async Task<NotificationWithDetails?> FindWithDetailsAsync(Guid tenantId, Guid id, CancellationToken ct)
    {
        await using var snapshot = await db.Database.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        if (await FindAsync(tenantId, id, ct) is not { } notification)
        {
            return null;
        }

        var deliveries = await db.Deliveries.AsNoTracking()
            .Where(d => d.NotificationId == notification.Id && d.CreatedAt >= notification.CreatedAt && d.TenantId == notification.TenantId)
            .OrderBy(d => d.Id).ToListAsync(ct);
        var events = await db.Events.AsNoTracking()
            .Where(e => e.NotificationId == notification.Id && e.CreatedAt >= notification.CreatedAt && e.TenantId == notification.TenantId)
            .OrderBy(e => e.CreatedAt).ThenBy(e => e.Id).ToListAsync(ct);
        await snapshot.CommitAsync(ct);
        return new NotificationWithDetails(notification, deliveries, events);
    }

    /// <summary>
    /// Moves the notification to <paramref name="status"/> if its current status ranks lower (statuses only move
    /// forward); true when it moved. Runs in the caller's transaction, if any. A scheduled send that moves on leaves the
    /// release job's index (release_at null); for any other the null stays null, and the update stays HOT.
    /// </summary>
    public async Task<bool> AdvanceAsync(Notification notification, string status, CancellationToken ct) =>
        await AdvanceAsync(notification, status, NotificationStatus.Rank(status), ct);

    private async Task<bool> AdvanceAsync(Notification notification, string status, int belowRank, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
#pragma warning disable EF1002 // The rank expression is built from constants, not from input; values are parameters.
        var updated = await db.Database.ExecuteSqlRawAsync(
            $$"""
            UPDATE delivery.notifications SET status = {0}, release_at = NULL, updated_at = {1}
            WHERE id = {2} AND created_at = {3} AND tenant_id = {4} AND {{NotificationStatus.RankSql}} < {5}
            """,
            [status, now, notification.Id, notification.CreatedAt, notification.TenantId, belowRank], ct);
#pragma warning restore EF1002
        return updated == 1;
    }

    private static readonly string StartProcessingSql = $"""
        UPDATE delivery.notifications n SET status = @processing, release_at = NULL, updated_at = @now
        FROM unnest(@ids, @createdAts, @tenantIds) AS r(id, created_at, tenant_id)
        WHERE n.id = r.id AND n.created_at = r.created_at AND n.tenant_id = r.tenant_id
          AND {NotificationStatus.RankSql} < @rank
          AND NOT (n.status = '{NotificationStatus.Scheduled}' AND coalesce(n.scheduled_for > @now, false))
        RETURNING {NotificationRows.ColumnsWithPayload}
        """;

    /// <summary>
    /// Moves the requested notifications to <c>processing</c> in one statement, except those already there or beyond
    /// (statuses only move forward) and scheduled ones whose time has not come; the ones that moved, as stored, by id.
    /// </summary>
    public async Task<Dictionary<Guid, Notification>> StartProcessingManyAsync(IReadOnlyList<NotificationRequestedIntegrationEvent> requested, CancellationToken ct)
    {
        // Npgsql directly (see NotificationRows), in the consumer's transaction.
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = new NpgsqlCommand(StartProcessingSql, (NpgsqlConnection)db.Database.GetDbConnection());
            command.Parameters.AddWithValue("processing", NotificationStatus.Processing);
            command.Parameters.AddWithValue("now", clock.GetUtcNow());
            command.Parameters.AddWithValue("ids", requested.Select(r => r.NotificationId).ToArray());
            command.Parameters.AddWithValue("createdAts", requested.Select(r => r.CreatedAt).ToArray());
            command.Parameters.AddWithValue("tenantIds", requested.Select(r => r.TenantId).ToArray());
            command.Parameters.AddWithValue("rank", NotificationStatus.Rank(NotificationStatus.Processing));
            var moved = new Dictionary<Guid, Notification>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var notification = NotificationRows.Read(reader, withPayload: true);
                moved[notification.Id] = notification;
            }

            return moved;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// Cancels the notification and its unsent deliveries if nothing went out yet, with a timeline event and a
    /// cancelled integration event; false when its status no longer allows it, or a delivery is being handed to its provider.
    /// </summary>
    public async Task<bool> CancelAsync(Notification notification, CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        if (!await AdvanceAsync(notification, NotificationStatus.Cancelled, NotificationStatus.Rank(NotificationStatus.Sent), ct))
        {
            return false;
        }

        var now = clock.GetUtcNow();
#pragma warning disable EF1002 // As above: constants, values as parameters.
        await db.Database.ExecuteSqlRawAsync(
            $$"""
            UPDATE delivery.deliveries SET status = {0}, updated_at = {1}
            WHERE notification_id = {2} AND created_at >= {3} AND tenant_id = {4} AND {{DeliveryStatus.RankSql}} < {5}
              AND handed_over_at IS NULL
            """,
            [DeliveryStatus.Cancelled, now, notification.Id, notification.CreatedAt, notification.TenantId, DeliveryStatus.Rank(DeliveryStatus.Sent)], ct);
#pragma warning restore EF1002
        // A delivery handed to its provider is as good as sent (the row lock of the update above orders this against
        // the hand-over): too late to cancel; the transaction rolls back.
        if (await db.Deliveries.AnyAsync(d => d.NotificationId == notification.Id && d.CreatedAt >= notification.CreatedAt
                && d.TenantId == notification.TenantId && d.Status == DeliveryStatus.Queued && d.HandedOverAt != null, ct))
        {
            return false;
        }

        db.Events.Add(NewEvent(notification, TimelineEvents.Cancelled, "Cancelled through the API before it was sent."));
        db.AddIntegrationEvent(new NotificationCancelledIntegrationEvent(notification.TenantId, notification.Id, now), notification.TenantId, clock);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return true;
    }

    /// <summary>
    /// Moves one sent delivery forward to <paramref name="status"/> (delivered, opened, clicked, bounced …; never back)
    /// and adds its timeline row, whose status and webhook events <see cref="DeliveryDbContext"/> adds when the caller
    /// saves, in the caller's transaction. Only a delivery of <paramref name="tenantId"/> (and of <paramref name="channel"/>,
    /// when given) moves. Its notification's id when it moved; null when it was already there or past it.
    /// </summary>
    public async Task<Guid?> AdvanceDeliveryAsync(
        Guid tenantId, Guid deliveryId, DateTimeOffset deliveryCreatedAt, string status, string? detail, CancellationToken ct, string? channel = null)
    {
        var now = clock.GetUtcNow();
#pragma warning disable EF1002 // The rank expression and the channel condition are built from constants, not from input; values are parameters.
        var moved = await db.Database.SqlQueryRaw<MovedDelivery>(
            $$"""
            UPDATE delivery.deliveries SET status = {0}, updated_at = {1}
            WHERE id = {2} AND created_at = {3} AND tenant_id = {4} AND {{DeliveryStatus.RankSql}} < {5}{{(channel is null ? "" : " AND channel = {6}")}}
            RETURNING notification_id, channel
            """,
            [status, now, deliveryId, deliveryCreatedAt, tenantId, DeliveryStatus.Rank(status), .. channel is null ? Array.Empty<object>() : [channel]])
            .ToListAsync(ct);
#pragma warning restore EF1002
        if (moved is not [var delivery])
        {
            return null;
        }

        AddDeliveryEvent(tenantId, delivery.NotificationId, deliveryId, delivery.Channel, status, detail, now);
        return delivery.NotificationId;
    }

    internal sealed record MovedDelivery(Guid NotificationId, string Channel);

    /// <summary>
    /// The recipient read these inbox items (an item's id is its in-app delivery's): each of the tenant's in-app
    /// deliveries among them that has not been opened yet moves to <c>opened</c> with its timeline row, whose status and
    /// webhook events <see cref="DeliveryDbContext"/> adds when the caller saves, in the caller's transaction. Reading an
    /// item again (after marking it unread) moves nothing. The number moved.
    /// </summary>
    public async Task<int> OpenInAppAsync(Guid tenantId, IReadOnlyList<Guid> deliveryIds, CancellationToken ct)
    {
        // A delivery's row is dated within moments of its UUIDv7 (same planning step): a minute before the oldest id's
        // time bounds the monthly partitions to look in.
        if (deliveryIds.Select(UuidV7.CreatedAt).Min() is not { } oldest)
        {
            return 0;
        }

        var notBefore = oldest - TimeSpan.FromMinutes(1);
        var now = clock.GetUtcNow();
#pragma warning disable EF1002 // The rank expression is built from constants, not from input; values are parameters.
        var moved = await db.Database.SqlQueryRaw<MovedInApp>(
            $$"""
            UPDATE delivery.deliveries SET status = {0}, updated_at = {1}
            WHERE id = ANY({2}) AND created_at >= {3} AND tenant_id = {4} AND channel = {5} AND {{DeliveryStatus.RankSql}} < {6}
            RETURNING id, notification_id
            """,
            [DeliveryStatus.Opened, now, deliveryIds.ToArray(), notBefore, tenantId, Channels.InApp, DeliveryStatus.Rank(DeliveryStatus.Opened)])
            .ToListAsync(ct);
#pragma warning restore EF1002
        foreach (var delivery in moved)
        {
            AddDeliveryEvent(tenantId, delivery.NotificationId, delivery.Id, Channels.InApp, DeliveryStatus.Opened, "Read in the inbox.", now);
        }

        return moved.Count;
    }

    internal sealed record MovedInApp(Guid Id, Guid NotificationId);

    private void AddDeliveryEvent(Guid tenantId, Guid notificationId, Guid deliveryId, string channel, string status, string? detail, DateTimeOffset at) =>
        db.Events.Add(new NotificationEvent
        {
            Id = Ids.New(clock), TenantId = tenantId, NotificationId = notificationId, DeliveryId = deliveryId, Channel = channel,
            Type = status, Detail = detail is { Length: > 2000 } ? detail[..2000] : detail, CreatedAt = at,
        });

    /// <summary>A timeline row; <paramref name="channel"/> and <paramref name="deliveryId"/> when it is about one channel or delivery.</summary>
    public NotificationEvent NewEvent(Notification notification, string type, string? detail, string? channel = null, Guid? deliveryId = null)
    {
        db.Remember(notification);
        return NewEventOf(notification, type, detail, clock, channel, deliveryId);
    }

    /// <summary>A timeline row built without a context (the batch path copies them in bulk); at <paramref name="at"/>, or now.</summary>
    public static NotificationEvent NewEventOf(
        Notification notification, string type, string? detail, TimeProvider clock, string? channel = null, Guid? deliveryId = null, DateTimeOffset? at = null) => new()
    {
        Id = Ids.New(clock),
        TenantId = notification.TenantId,
        NotificationId = notification.Id,
        DeliveryId = deliveryId,
        Channel = channel,
        Type = type,
        Detail = detail,
        CreatedAt = at ?? clock.GetUtcNow(),
    };
}
