using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Notify.Modules.Preferences.Caching;

/// <summary>
/// Two cache levels for one kind of profile (recipients, tenant defaults): a dictionary in this process, then
/// Redis, then PostgreSQL. Every change carries a revision from one database sequence, and both levels keep
/// only the highest revision they have seen, so a slow reader can never put an older profile back after a newer
/// one. A writer stores the new profile in Redis and then announces its revision to every process (pub/sub),
/// which marks its own entry stale; the next read there fetches the new profile from Redis.
/// </summary>
internal sealed class ProfileCache<TSnapshot, TProfile>(
    string kind,
    IConnectionMultiplexer redis,
    TimeProvider clock,
    Func<Guid, string, CancellationToken, Task<(long Revision, TSnapshot? Snapshot)>> load,
    Func<TSnapshot?, TProfile> compile,
    ILogger logger)
    where TSnapshot : class
{
    /// <summary>In case an announcement was missed while Redis was unreachable.</summary>
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan RedisTtl = TimeSpan.FromHours(6);
    private const int MaxEntries = 500_000;

    // Stores the snapshot only when its revision is at least the one Redis holds.
    private static readonly LuaScript SetIfNewer = LuaScript.Prepare("""
        local current = redis.call('HGET', @key, 'r')
        if current and tonumber(current) > tonumber(@revision) then return 0 end
        redis.call('HSET', @key, 'r', @revision, 'd', @data)
        redis.call('EXPIRE', @key, @ttl)
        return 1
        """);

    private readonly ConcurrentDictionary<(Guid TenantId, string Id), Entry> _entries = new();

    public string Kind => kind;

    /// <summary>The profile, from this process when it has a current one.</summary>
    public ValueTask<TProfile> GetAsync(Guid tenantId, string id, CancellationToken cancellationToken)
    {
        var key = (tenantId, id);
        if (_entries.TryGetValue(key, out var entry) && !entry.Stale && clock.GetElapsedTime(entry.LoadedAt) < MaxAge)
        {
            return ValueTask.FromResult(entry.Profile);
        }

        return new ValueTask<TProfile>(LoadAsync(key, entry?.Revision ?? 0, cancellationToken));
    }

    /// <summary>
    /// After a committed change: reads the profile from the database, stores it here and in Redis, and announces
    /// its revision. <paramref name="revisionFloor"/> is the revision of a deletion (the row is gone, so the
    /// database cannot say it).
    /// </summary>
    public async Task PublishChangeAsync(Guid tenantId, string id, long revisionFloor, RedisChannel channel, CancellationToken cancellationToken)
    {
        var (revision, snapshot) = await load(tenantId, id, cancellationToken);
        revision = Math.Max(revision, revisionFloor);
        Store((tenantId, id), revision, compile(snapshot));
        try
        {
            await SetIfNewer.EvaluateAsync(redis.GetDatabase(), new
            {
                key = (RedisKey)RedisKeyOf(tenantId, id),
                revision,
                data = JsonSerializer.Serialize(snapshot, JsonSerializerOptions.Web),
                ttl = (long)RedisTtl.TotalSeconds,
            });
            await redis.GetSubscriber().PublishAsync(channel, $"{kind}|{tenantId:N}|{revision}|{id}");
        }
        catch (RedisException ex)
        {
            // Other processes catch up when their entry ages out; Redis entries expire too.
            logger.LogWarning(ex, "Could not announce a {Kind} change; other processes catch up within {MaxAge}", kind, MaxAge);
        }
    }

    /// <summary>Another process changed the profile: ours is stale unless it is at least that revision.</summary>
    public void MarkStale(Guid tenantId, string id, long revision) =>
        _entries.AddOrUpdate((tenantId, id), _ => new Entry(revision, default!, 0, Stale: true),
            (_, existing) => existing.Revision >= revision ? existing : new Entry(revision, default!, 0, Stale: true));

    private async Task<TProfile> LoadAsync((Guid TenantId, string Id) key, long knownRevision, CancellationToken cancellationToken)
    {
        var redisKey = RedisKeyOf(key.TenantId, key.Id);
        try
        {
            var cached = await redis.GetDatabase().HashGetAsync(redisKey, ["r", "d"]);
            // Older than what this process was told about: the announcement raced ahead of Redis, read the database.
            if (cached[0].HasValue && (long)cached[0] >= knownRevision && cached[1].HasValue)
            {
                var profile = compile(JsonSerializer.Deserialize<TSnapshot>((string)cached[1]!, JsonSerializerOptions.Web));
                return Store(key, (long)cached[0], profile);
            }
        }
        catch (RedisException ex)
        {
            logger.LogWarning(ex, "Redis unavailable; reading {Kind} from the database", kind);
        }

        var (revision, snapshot) = await load(key.TenantId, key.Id, cancellationToken);
        // The database is the truth at the time of this read, which began after anything this process was told.
        revision = Math.Max(revision, knownRevision);
        var loaded = Store(key, revision, compile(snapshot));
        try
        {
            await SetIfNewer.EvaluateAsync(redis.GetDatabase(), new
            {
                key = (RedisKey)redisKey,
                revision,
                data = JsonSerializer.Serialize(snapshot, JsonSerializerOptions.Web),
                ttl = (long)RedisTtl.TotalSeconds,
            });
        }
        catch (RedisException ex)
        {
            logger.LogWarning(ex, "Could not store {Kind} in Redis", kind);
        }

        return loaded;
    }

    private TProfile Store((Guid, string) key, long revision, TProfile profile)
    {
        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear(); // crude but bounded; a cold start costs one Redis read per profile
        }

        var fresh = new Entry(revision, profile, clock.GetTimestamp(), Stale: false);
        _entries.AddOrUpdate(key, fresh, (_, existing) => existing.Revision > revision ? existing : fresh);
        return profile;
    }

    private string RedisKeyOf(Guid tenantId, string id) => $"notify:preferences:{kind}:{tenantId:N}:{id}";

    /// <param name="Stale">The entry is only a marker: a newer revision exists elsewhere, so <paramref name="Profile"/> means nothing.</param>
    private sealed record Entry(long Revision, TProfile Profile, long LoadedAt, bool Stale);
}
