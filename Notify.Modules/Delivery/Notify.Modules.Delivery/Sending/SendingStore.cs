using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Telemetry;
using Npgsql;

namespace Notify.Modules.Delivery.Sending;

/// <summary>A delivery a sender claimed: what it needs to build and send the message.</summary>
internal sealed record ClaimedDelivery(
    Guid Id, DateTimeOffset CreatedAt, Guid TenantId, Guid NotificationId, string Channel, string? Address, string? Content, int Attempts,
    string? TraceParent, DateTimeOffset LeasedUntil, DateTimeOffset? HandedOverAt, string? Device = null);

/// <summary>
/// A message its server or provider took at <paramref name="SentAt"/>, to be recorded sent
/// (<see cref="SendingStore.MarkSentManyAsync"/>): the timeline's <c>sent</c> row reads the message id and
/// <paramref name="Detail"/>; <paramref name="SentBy"/> names the provider account and its cost, when one sent it.
/// </summary>
internal sealed record SentMessage(
    ClaimedDelivery Delivery, Notification Notification, string ProviderMessageId, DateTimeOffset SentAt, string? Detail = null,
    (Guid Id, decimal? Cost)? SentBy = null);

/// <summary>
/// Claims due deliveries of a channel for a sender and records how each attempt ended. Statuses only move forward:
/// a claimed delivery stays <c>queued</c> with a lease (<c>leased_until</c>) and a counted attempt, and leaves
/// <c>queued</c> only for <c>sent</c> or <c>failed</c>.
/// </summary>
internal sealed class SendingStore(NpgsqlDataSource dataSource, DeliveryDbContext db, NotificationStore store, TimeProvider clock)
{
    /// <summary>
    /// Claims up to <paramref name="batchSize"/> queued deliveries of <paramref name="channel"/> whose time has come and
    /// whose lease (if any) ran out, counting an attempt and leasing each until <paramref name="lease"/> from now — one
    /// statement, so the claim and the attempt commit together before anything is sent. <c>SKIP LOCKED</c> lets
    /// concurrent senders take different rows; the lease keeps them from taking the same row again once committed.
    /// </summary>
    public async Task<List<ClaimedDelivery>> ClaimAsync(string channel, int batchSize, TimeSpan lease, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var command = new NpgsqlCommand(QueueScans.IndexOrder + $"""
            WITH due AS (
                SELECT id, created_at FROM delivery.deliveries
                WHERE status = '{DeliveryStatus.Queued}' AND channel = @channel
                  AND (deliver_at IS NULL OR deliver_at <= @now)
                  AND (leased_until IS NULL OR leased_until <= @now)
                ORDER BY priority, coalesce(deliver_at, created_at)
                LIMIT @batch
                FOR UPDATE SKIP LOCKED)
            UPDATE delivery.deliveries d
            SET attempts = d.attempts + 1, leased_until = @leasedUntil, updated_at = @now
            FROM due WHERE d.id = due.id AND d.created_at = due.created_at
            RETURNING d.id, d.created_at, d.tenant_id, d.notification_id, d.channel, d.address, d.content, d.attempts, d.trace_parent,
                d.leased_until, d.handed_over_at, d.device
            """, connection, transaction);
        command.Parameters.AddWithValue("channel", channel);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("batch", batchSize);
        command.Parameters.AddWithValue("leasedUntil", now + lease);
        var claimed = new List<ClaimedDelivery>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            claimed.Add(new ClaimedDelivery(
                reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetGuid(2), reader.GetGuid(3), reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6), reader.GetInt32(7),
                reader.IsDBNull(8) ? null : reader.GetString(8), reader.GetFieldValue<DateTimeOffset>(9),
                reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10), reader.IsDBNull(11) ? null : reader.GetString(11)));
        }

        await reader.DisposeAsync();
        await transaction.CommitAsync(ct);
        return claimed;
    }

    /// <summary>
    /// Starts recording that the message is about to be let go to its server or provider
    /// (<see cref="ChannelDelivery.HandedOverAt"/>): the mark is written in a transaction, and the returned
    /// <see cref="HandOver"/> commits it. The sender starts that COMMIT right before it writes the message's last bytes
    /// and awaits it after: PostgreSQL runs a COMMIT it has received even if the Worker dies, so the only window left is
    /// the moment between the two writes. Null when the delivery is no longer this claim's — cancelled, or its lease ran
    /// out and another sender claimed it — and then it must not go out. Provider requests hand over one at a time through
    /// this; SMTP email, whose connections reach their ends at once, in groups (<see cref="HandoverGroup"/>).
    /// </summary>
    public async Task<HandOver?> BeginHandOverAsync(ClaimedDelivery delivery, CancellationToken ct)
    {
        var connection = await dataSource.OpenConnectionAsync(ct);
        try
        {
            var transaction = await connection.BeginTransactionAsync(ct);
            await using var command = new NpgsqlCommand($"""
                UPDATE delivery.deliveries d SET handed_over_at = @now
                WHERE id = @id AND created_at = @createdAt AND {DeliveryStatus.StillQueuedSql("d")} AND leased_until = @leasedUntil
                """, connection, transaction);
            command.Parameters.AddWithValue("now", clock.GetUtcNow());
            command.Parameters.AddWithValue("id", delivery.Id);
            command.Parameters.AddWithValue("createdAt", delivery.CreatedAt);
            command.Parameters.AddWithValue("leasedUntil", delivery.LeasedUntil);
            if (await command.ExecuteNonQueryAsync(ct) == 1)
            {
                return new HandOver(connection, transaction);
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        await connection.DisposeAsync();
        return null;
    }

    /// <summary>Records the hand-over at once (begun and committed); false when the delivery is no longer this claim's.</summary>
    public async Task<bool> MarkHandedOverAsync(ClaimedDelivery delivery, CancellationToken ct)
    {
        if (await BeginHandOverAsync(delivery, ct) is not { } handOver)
        {
            return false;
        }

        await handOver.CommitAsync();
        return true;
    }

    /// <summary>One call to a provider, for its health figures (success rate and latency).</summary>
    public async Task RecordProviderAttemptAsync(Guid providerId, Guid tenantId, bool succeeded, int latencyMs, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "INSERT INTO delivery.provider_attempts (id, tenant_id, provider_id, succeeded, latency_ms, created_at) VALUES ($1, $2, $3, $4, $5, $6)");
        command.Parameters.AddWithValue(Ids.New(clock));
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(providerId);
        command.Parameters.AddWithValue(succeeded);
        command.Parameters.AddWithValue(latencyMs);
        command.Parameters.AddWithValue(clock.GetUtcNow());
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// The message may be out but its answer was lost (<paramref name="why"/>): it is recorded sent, flagged unconfirmed
    /// in the timeline, and never sent again — a duplicate is worse than an unconfirmed send.
    /// </summary>
    public Task<bool> MarkSentUnconfirmedAsync(
        ClaimedDelivery delivery, Notification notification, string providerMessageId, string why, CancellationToken ct, (Guid Id, decimal? Cost)? sentBy = null) =>
        MarkSentAsync(delivery, notification, providerMessageId, $"(unconfirmed: {why}; not sent again)", ct, sentBy);

    /// <summary>Why a claimed delivery that already carries a hand-over counts as sent: the sender that handed it to <paramref name="to"/> stopped.</summary>
    public static string HandedOverByStoppedSender(DateTimeOffset handedOverAt, string to) =>
        $"handed to {to} at {handedOverAt:O} by a sender that stopped before its answer was recorded";

    /// <summary>The provider answered that it did not take the message: the hand-over is undone, so a crash now does not count it as sent.</summary>
    public async Task ClearHandOverAsync(ClaimedDelivery delivery, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            UPDATE delivery.deliveries d SET handed_over_at = NULL
            WHERE id = @id AND created_at = @createdAt AND {DeliveryStatus.StillQueuedSql("d")} AND leased_until = @leasedUntil
            """);
        command.Parameters.AddWithValue("id", delivery.Id);
        command.Parameters.AddWithValue("createdAt", delivery.CreatedAt);
        command.Parameters.AddWithValue("leasedUntil", delivery.LeasedUntil);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Records the "sent" outcome of one message (see <see cref="MarkSentManyAsync"/>); false when the delivery was no
    /// longer queued.
    /// </summary>
    public async Task<bool> MarkSentAsync(
        ClaimedDelivery delivery, Notification notification, string providerMessageId, string? detail, CancellationToken ct, (Guid Id, decimal? Cost)? sentBy = null) =>
        await MarkSentManyAsync([new SentMessage(delivery, notification, providerMessageId, clock.GetUtcNow(), detail, sentBy)], ct) == 1;

    /// <summary>
    /// Moves the given deliveries that are still queued to sent, with their message ids (and provider and cost), and their
    /// notifications to sent where that is forward; the ids of the deliveries that moved.
    /// </summary>
    internal static readonly string MarkSentSql = $"""
        WITH input AS (
            SELECT * FROM unnest(@ids, @createdAts, @messageIds, @sentAts, @attempts, @providerIds, @costs, @notificationIds, @notificationCreatedAts,
                    @tenantIds, @channels, @eventIds, @details, @outboxIds, @outboxTypes, @payloads, @traceParents, @traceStates)
                AS t(id, created_at, message_id, sent_at, attempts, provider_id, cost, notification_id, notification_created_at,
                    tenant_id, channel, event_id, detail, outbox_id, outbox_type, payload, trace_parent, trace_state)),
        sent AS (
            UPDATE delivery.deliveries d SET status = '{DeliveryStatus.Sent}', provider_message_id = i.message_id, attempts = i.attempts,
                leased_until = NULL, last_error = NULL, updated_at = i.sent_at, provider_id = i.provider_id, cost = i.cost
            FROM input i WHERE d.id = i.id AND d.created_at = i.created_at AND {DeliveryStatus.StillQueuedSql("d")}
            RETURNING d.id),
        advanced AS (
            UPDATE delivery.notifications n SET status = '{NotificationStatus.Sent}', updated_at = @now
            FROM input i JOIN sent s ON s.id = i.id
            WHERE n.id = i.notification_id AND n.created_at = i.notification_created_at AND n.tenant_id = i.tenant_id
              AND {NotificationStatus.RankSql} < {NotificationStatus.Rank(NotificationStatus.Sent)}),
        timeline AS (
            INSERT INTO delivery.notification_events (id, created_at, tenant_id, notification_id, delivery_id, channel, type, detail)
            SELECT i.event_id, i.sent_at, i.tenant_id, i.notification_id, i.id, i.channel, '{TimelineEvents.Sent}', i.detail
            FROM input i JOIN sent s ON s.id = i.id),
        outbox AS (
            INSERT INTO delivery.{OutboxExtensions.OutboxTable} (id, type, tenant_id, occurred_at, payload, trace_parent, trace_state)
            SELECT i.outbox_id, i.outbox_type, i.tenant_id, i.sent_at, i.payload::jsonb, i.trace_parent, i.trace_state
            FROM input i JOIN sent s ON s.id = i.id)
        SELECT id FROM sent
        """;

    /// <summary>
    /// Records the "sent" outcome of messages their servers or providers took, in one statement (one round trip, its own
    /// transaction): each delivery still queued moves to sent, at the time its server took it, with its message id (and
    /// provider and cost) and gets a <c>sent</c> timeline row at that time and its outbox event; its notification moves to
    /// sent (only forward). A sender may record a whole batch after sending it: every message was handed over first, so a
    /// crash before this commit leaves deliveries the next claim records sent, not sends again. The number of deliveries
    /// that moved.
    /// </summary>
    public async Task<int> MarkSentManyAsync(IReadOnlyList<SentMessage> sent, CancellationToken ct)
    {
        if (sent.Count == 0)
        {
            return 0;
        }

        // Built for every message; the statement keeps the rows of the deliveries that moved.
        var events = sent.Select(m => NotificationStore.NewEventOf(m.Notification, TimelineEvents.Sent,
            m.Detail is null ? m.ProviderMessageId : $"{m.ProviderMessageId} {m.Detail}", clock, m.Delivery.Channel, m.Delivery.Id, m.SentAt)).ToList();
        var outbox = events.Select((e, i) => StatusEvents.OutboxMessagesFor(e, NotificationFacts.Of(sent[i].Notification)).Single()).ToList();
        await using var command = dataSource.CreateCommand(MarkSentSql);
        command.Parameters.AddWithValue("ids", sent.Select(m => m.Delivery.Id).ToArray());
        command.Parameters.AddWithValue("createdAts", sent.Select(m => m.Delivery.CreatedAt).ToArray());
        command.Parameters.AddWithValue("messageIds", sent.Select(m => m.ProviderMessageId).ToArray());
        command.Parameters.AddWithValue("sentAts", sent.Select(m => m.SentAt).ToArray());
        command.Parameters.AddWithValue("attempts", sent.Select(m => m.Delivery.Attempts).ToArray());
        command.Parameters.Add(new NpgsqlParameter<Guid?[]>("providerIds", sent.Select(m => m.SentBy?.Id).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<decimal?[]>("costs", sent.Select(m => m.SentBy?.Cost).ToArray()));
        command.Parameters.AddWithValue("notificationIds", sent.Select(m => m.Notification.Id).ToArray());
        command.Parameters.AddWithValue("notificationCreatedAts", sent.Select(m => m.Notification.CreatedAt).ToArray());
        command.Parameters.AddWithValue("tenantIds", sent.Select(m => m.Notification.TenantId).ToArray());
        command.Parameters.AddWithValue("channels", sent.Select(m => m.Delivery.Channel).ToArray());
        command.Parameters.AddWithValue("eventIds", events.Select(e => e.Id).ToArray());
        command.Parameters.AddWithValue("details", events.Select(e => e.Detail).ToArray());
        command.Parameters.AddWithValue("outboxIds", outbox.Select(o => o.Id).ToArray());
        command.Parameters.AddWithValue("outboxTypes", outbox.Select(o => o.Type).ToArray());
        command.Parameters.AddWithValue("payloads", outbox.Select(o => o.Payload).ToArray());
        command.Parameters.Add(new NpgsqlParameter<string?[]>("traceParents", outbox.Select(o => o.TraceParent).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string?[]>("traceStates", outbox.Select(o => o.TraceState).ToArray()));
        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        var moved = new HashSet<Guid>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                moved.Add(reader.GetGuid(0));
            }
        }

        foreach (var message in sent.Where(m => moved.Contains(m.Delivery.Id)))
        {
            DeliveryTelemetry.RecordSent(message.Delivery.Channel, message.Notification.CreatedAt, message.SentAt);
        }

        return moved.Count;
    }

    /// <summary>
    /// A failed try that is retried right away: an <c>attempt_failed</c> event for it, and one more attempt counted
    /// for the retry; the delivery as the retry sees it.
    /// </summary>
    public async Task<ClaimedDelivery> RecordRetryAsync(ClaimedDelivery delivery, Notification notification, string error, TimeSpan delay, CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var updated = await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE delivery.deliveries SET attempts = {delivery.Attempts + 1}, handed_over_at = NULL, last_error = {Truncate(error)}, updated_at = {clock.GetUtcNow()}
            WHERE id = {delivery.Id} AND created_at = {delivery.CreatedAt} AND status = {DeliveryStatus.Queued}
            """, ct);
        if (updated == 1)
        {
            db.Events.Add(store.NewEvent(notification, TimelineEvents.AttemptFailed,
                Truncate($"Attempt {delivery.Attempts} failed: {error} Retrying in {(int)delay.TotalMilliseconds} ms."), delivery.Channel, delivery.Id));
            await db.SaveChangesAsync(ct);
        }

        await transaction.CommitAsync(ct);
        return delivery with { Attempts = delivery.Attempts + 1 };
    }

    /// <summary>Releases the lease and moves the delivery's time to <paramref name="retryAt"/>, with an <c>attempt_failed</c> event.</summary>
    public async Task RescheduleAsync(ClaimedDelivery delivery, Notification notification, DateTimeOffset retryAt, string error, CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var updated = await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE delivery.deliveries SET deliver_at = {retryAt}, leased_until = NULL, handed_over_at = NULL, last_error = {Truncate(error)},
                updated_at = {clock.GetUtcNow()}
            WHERE id = {delivery.Id} AND created_at = {delivery.CreatedAt} AND status = {DeliveryStatus.Queued}
            """, ct);
        if (updated == 1)
        {
            db.Events.Add(store.NewEvent(notification, TimelineEvents.AttemptFailed,
                $"Attempt {delivery.Attempts} failed: {error} Next attempt at {retryAt:O}.", delivery.Channel, delivery.Id));
            await db.SaveChangesAsync(ct);
        }

        await transaction.CommitAsync(ct);
    }

    /// <summary>
    /// Marks the delivery failed with the error and a <c>failed</c> event; the notification fails too when none of its
    /// deliveries is still queued or went out.
    /// </summary>
    public async Task MarkFailedAsync(ClaimedDelivery delivery, Notification? notification, string error, CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var updated = await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE delivery.deliveries SET status = {DeliveryStatus.Failed}, leased_until = NULL, handed_over_at = NULL, last_error = {Truncate(error)},
                updated_at = {clock.GetUtcNow()}
            WHERE id = {delivery.Id} AND created_at = {delivery.CreatedAt} AND status = {DeliveryStatus.Queued}
            """, ct);
        if (updated == 1 && notification is not null)
        {
            db.Events.Add(store.NewEvent(notification, TimelineEvents.Failed, Truncate(error), delivery.Channel, delivery.Id));
            await db.SaveChangesAsync(ct);
            var anyAlive = await db.Deliveries.AnyAsync(d => d.NotificationId == notification.Id && d.CreatedAt >= notification.CreatedAt
                && d.TenantId == notification.TenantId && DeliveryStatus.Live.Contains(d.Status), ct);
            if (!anyAlive)
            {
                await store.AdvanceAsync(notification, NotificationStatus.Failed, ct);
            }
        }

        if (updated == 1)
        {
            await ParkAsync(delivery, error, ct);
        }

        await transaction.CommitAsync(ct);
        if (updated == 1)
        {
            DeliveryTelemetry.RecordFailed(delivery.Channel);
        }
    }

    /// <summary>
    /// Parks a delivery that failed for good as an open dead letter, with its timeline so far (its events, oldest
    /// first) as the attempt history; runs in the caller's transaction, so the failure and its dead letter commit together.
    /// </summary>
    private async Task ParkAsync(ClaimedDelivery delivery, string error, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        // Its events are no older than its notification, whose creation time the UUIDv7 carries: that prunes old partitions.
        var since = UuidV7.CreatedAt(delivery.NotificationId) ?? delivery.CreatedAt.AddDays(-1);
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            INSERT INTO delivery.dead_letters (id, tenant_id, notification_id, delivery_id, delivery_created_at, channel, address, error,
                attempts, history, status, created_at, updated_at)
            SELECT {Ids.New(clock)}, {delivery.TenantId}, {delivery.NotificationId}, {delivery.Id}, {delivery.CreatedAt}, {delivery.Channel},
                {delivery.Address}, {Truncate(error)}, {delivery.Attempts},
                coalesce((SELECT jsonb_agg(jsonb_build_object('type', e.type, 'detail', e.detail, 'at', e.created_at) ORDER BY e.created_at, e.id)
                    FROM delivery.notification_events e
                    WHERE e.notification_id = {delivery.NotificationId} AND e.created_at >= {since} AND e.delivery_id = {delivery.Id}), '[]'::jsonb),
                {DeadLetterStatus.Open}, {now}, {now}
            ON CONFLICT DO NOTHING
            """, ct);
    }

    private static readonly string NotificationsOfSql = $"""
        SELECT {NotificationRows.Columns}
        FROM delivery.notifications n WHERE n.id = ANY(@ids) AND n.created_at = ANY(@createdAts)
        """;

    /// <summary>
    /// The notifications a claimed batch belongs to (their recipient and category shape the messages), by id, read in one
    /// query for the whole batch, without their data and inline recipient; the sender passes each to the outcome methods
    /// below. A delivery whose notification is missing (or of another tenant) has no entry.
    /// </summary>
    public async Task<Dictionary<Guid, Notification>> NotificationsOfAsync(IReadOnlyList<ClaimedDelivery> deliveries, CancellationToken ct)
    {
        var found = new Dictionary<Guid, Notification>();
        if (deliveries.Count == 0)
        {
            return found;
        }

        // The creation time the UUIDv7 carries is the partition key: matching on it lets PostgreSQL prune partitions. Read
        // without the payload (data) and the inline recipient, which building and recording a message never needs.
        var ids = deliveries.Select(d => d.NotificationId).Distinct().ToArray();
        var createdAts = ids.Select(id => UuidV7.CreatedAt(id)).OfType<DateTimeOffset>().Distinct().ToArray();
        await using var command = dataSource.CreateCommand(NotificationsOfSql);
        command.Parameters.AddWithValue("ids", ids);
        command.Parameters.AddWithValue("createdAts", createdAts);
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var notification = NotificationRows.Read(reader, withPayload: false);
                found[notification.Id] = notification;
            }
        }

        // Each delivery only ever sees its own tenant's notification.
        foreach (var delivery in deliveries)
        {
            if (found.TryGetValue(delivery.NotificationId, out var notification) && notification.TenantId != delivery.TenantId)
            {
                found.Remove(delivery.NotificationId);
            }
        }

        return found;
    }

    private static string Truncate(string error) => error.Length <= 1900 ? error : error[..1900];
}

/// <summary>A hand-over mark written and not yet committed (<see cref="SendingStore.BeginHandOverAsync"/>).</summary>
internal sealed class HandOver(NpgsqlConnection connection, NpgsqlTransaction transaction)
{
    /// <summary>
    /// Commits the mark and releases the connection. Npgsql has sent the COMMIT by the time this returns its task (the
    /// send completes at once; only the answer is awaited), which is what lets the sender write the message's end next.
    /// </summary>
    public async Task CommitAsync()
    {
        try
        {
            await transaction.CommitAsync();
        }
        finally
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}

/// <summary>What a sender calls right before a message's last bytes go out: <see cref="SendingStore.BeginHandOverAsync"/> for its delivery.</summary>
internal delegate Task<HandOver?> BeginHandOver(CancellationToken ct);
