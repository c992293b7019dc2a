using System.Buffers.Binary;
using System.Buffers.Text;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Features.Inbox;

namespace Notify.Modules.Delivery.Inbox;

internal static class InboxFilter
{
    public const string All = "all";
    public const string Unread = "unread";
    public const string Read = "read";
    public static readonly IReadOnlyList<string> Statuses = [All, Unread, Read];
}

/// <summary>What a recipient can do to one item.</summary>
internal enum InboxChange
{
    Read,
    Unread,
    Seen,
    Archive,
    Unarchive,
}

/// <summary>Keyset cursor of an inbox page: the last item's (created_at, id), newest first.</summary>
internal static class InboxCursor
{
    public static string Encode(DateTimeOffset createdAt, Guid id)
    {
        Span<byte> bytes = stackalloc byte[24];
        BinaryPrimitives.WriteInt64BigEndian(bytes, createdAt.UtcTicks);
        id.TryWriteBytes(bytes[8..], bigEndian: true, out _);
        return Base64Url.EncodeToString(bytes);
    }

    public static bool TryDecode(string cursor, out (DateTimeOffset CreatedAt, Guid Id) position)
    {
        position = default;
        Span<byte> bytes = stackalloc byte[24];
        if (!Base64Url.TryDecodeFromChars(cursor, bytes, out var written) || written != 24)
        {
            return false;
        }

        var ticks = BinaryPrimitives.ReadInt64BigEndian(bytes);
        if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            return false;
        }

        position = (new DateTimeOffset(ticks, TimeSpan.Zero), new Guid(bytes[8..], bigEndian: true));
        return true;
    }
}

/// <summary>Counts of one inbox (read by <c>SqlQuery</c>, so snake_case columns).</summary>
internal sealed class InboxCounts
{
    public int Unread { get; init; }
    public int Unseen { get; init; }
}

/// <summary>
/// Reads and changes one recipient's inbox. Every query names the tenant and user, so a token never reaches another
/// recipient's items. An item's id is its in-app delivery's UUIDv7, made before the item was stored, so
/// <c>created_at &gt;= the id's time</c> prunes older monthly partitions on lookups by id. Reading an item is the in-app
/// counterpart of opening an email: its delivery moves to <c>opened</c> (<see cref="NotificationStore.OpenInAppAsync"/>).
/// </summary>
internal sealed class InboxStore(DeliveryDbContext db, NotificationStore store, TimeProvider clock)
{
    public async Task<CursorPage<InboxItemResponse>> ListAsync(SubscriberTokenPayload owner, ListInboxRequest request, CancellationToken ct)
    {
        var query = db.InboxItems.AsNoTracking();
        if (request.Cursor is not null && InboxCursor.TryDecode(request.Cursor, out var after))
        {
            query = db.InboxItems.FromSqlInterpolated(
                $"SELECT * FROM delivery.inbox_items WHERE (created_at, id) < ({after.CreatedAt}, {after.Id})").AsNoTracking();
        }

        query = query.Where(i => i.TenantId == owner.T && i.UserId == owner.U);
        query = request.Archived ? query.Where(i => i.ArchivedAt != null) : query.Where(i => i.ArchivedAt == null);
        query = request.Status switch
        {
            InboxFilter.Unread => query.Where(i => i.ReadAt == null),
            InboxFilter.Read => query.Where(i => i.ReadAt != null),
            _ => query,
        };
        if (request.Category is { Length: > 0 } category)
        {
            query = query.Where(i => i.Category == category);
        }

        var rows = await query.OrderByDescending(i => i.CreatedAt).ThenByDescending(i => i.Id).Take(request.Limit + 1).ToListAsync(ct);
        var items = rows.Take(request.Limit).Select(InboxItemResponse.From).ToList();
        var next = rows.Count > request.Limit ? InboxCursor.Encode(rows[request.Limit - 1].CreatedAt, rows[request.Limit - 1].Id) : null;
        return new CursorPage<InboxItemResponse>(items, next);
    }

    /// <summary>
    /// Items stored since the item <paramref name="lastId"/> (what a reconnecting stream missed), oldest first, at most
    /// <paramref name="limit"/>. Items of the same batch share its time, so those are all included: a client may see
    /// one twice (it has the id), never miss one.
    /// </summary>
    public async Task<List<InboxItem>> StoredSinceAsync(SubscriberTokenPayload owner, Guid lastId, int limit, CancellationToken ct)
    {
        if (UuidV7.CreatedAt(lastId) is not { } notBefore)
        {
            return [];
        }

        var last = await db.InboxItems.AsNoTracking()
            .Where(i => i.Id == lastId && i.CreatedAt >= notBefore && i.TenantId == owner.T && i.UserId == owner.U)
            .Select(i => (DateTimeOffset?)i.CreatedAt).FirstOrDefaultAsync(ct);
        if (last is null)
        {
            return [];
        }

        return await db.InboxItems.AsNoTracking()
            .Where(i => i.TenantId == owner.T && i.UserId == owner.U && i.CreatedAt >= last && i.Id != lastId && i.ArchivedAt == null)
            .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id).Take(limit).ToListAsync(ct);
    }

    public Task<InboxCounts> CountsAsync(SubscriberTokenPayload owner, CancellationToken ct) =>
        db.Database.SqlQuery<InboxCounts>($"""
            SELECT count(*) FILTER (WHERE read_at IS NULL)::int AS unread, count(*) FILTER (WHERE seen_at IS NULL)::int AS unseen
            FROM delivery.inbox_items WHERE tenant_id = {owner.T} AND user_id = {owner.U} AND archived_at IS NULL
            """).SingleAsync(ct);

    /// <summary>Applies <paramref name="change"/> to the owner's item; the item afterwards, or null when the owner has no such item.</summary>
    public async Task<InboxItem?> ChangeAsync(SubscriberTokenPayload owner, Guid id, InboxChange change, CancellationToken ct)
    {
        if (UuidV7.CreatedAt(id) is not { } notBefore)
        {
            return null;
        }

        // Setting a time that is already set keeps the first one: marking read twice does not move read_at.
        var set = change switch
        {
            InboxChange.Read => "read_at = coalesce(read_at, {0}), seen_at = coalesce(seen_at, {0})",
            InboxChange.Unread => "read_at = NULL",
            InboxChange.Seen => "seen_at = coalesce(seen_at, {0})",
            InboxChange.Archive => "archived_at = coalesce(archived_at, {0})",
            _ => "archived_at = NULL",
        };
        // Reading also opens the item's delivery, in the same transaction; the other changes are one statement.
        await using var transaction = change == InboxChange.Read ? await db.Database.BeginTransactionAsync(ct) : null;
#pragma warning disable EF1002 // The SET clause is one of the constants above; values are parameters.
        var rows = await db.InboxItems.FromSqlRaw(
            $$"""
            UPDATE delivery.inbox_items SET {{set}}
            WHERE id = {1} AND created_at >= {2} AND tenant_id = {3} AND user_id = {4}
            RETURNING *
            """,
            clock.GetUtcNow(), id, notBefore, owner.T, owner.U).AsNoTracking().ToListAsync(ct);
#pragma warning restore EF1002
        if (transaction is not null)
        {
            if (rows is [var item])
            {
                await store.OpenInAppAsync(owner.T, [item.Id], ct);
                await db.SaveChangesAsync(ct);
            }

            await transaction.CommitAsync(ct);
        }

        return rows.FirstOrDefault();
    }

    /// <summary>Marks every unread item of the owner read (archived ones too), their deliveries opened; how many changed.</summary>
    public async Task<int> ReadAllAsync(SubscriberTokenPayload owner, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var read = await db.Database.SqlQuery<Guid>($"""
            UPDATE delivery.inbox_items SET read_at = {now}, seen_at = coalesce(seen_at, {now})
            WHERE tenant_id = {owner.T} AND user_id = {owner.U} AND read_at IS NULL
            RETURNING id AS "Value"
            """).ToListAsync(ct);
        if (read.Count > 0)
        {
            await store.OpenInAppAsync(owner.T, read, ct);
            await db.SaveChangesAsync(ct);
        }

        await transaction.CommitAsync(ct);
        return read.Count;
    }
}
