using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Modules.Access.Data;
using Notify.Modules.Access.Domain;
using StackExchange.Redis;

namespace Notify.Modules.Access.Authentication;

/// <summary>What a valid key grants.</summary>
internal sealed record ApiKeyIdentity(Guid KeyId, Guid TenantId, string[] Scopes, bool SystemTenant, int RateLimitPerMinute);

/// <summary>Looks keys up by hash, through <see cref="ApiKeyCache"/>: one indexed read when the key is not remembered.</summary>
internal sealed class ApiKeyStore(AccessDbContext db, ApiKeyCache cache, TimeProvider clock)
{
    // Writing last_used_at on every request would turn each read into a write; a minute is precise enough.
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    public async Task<ApiKeyIdentity?> FindAsync(string plainKey, CancellationToken cancellationToken)
    {
        var hash = ApiKey.Hash(plainKey);
        var now = clock.GetUtcNow();
        if (cache.Find(hash, now) is { } remembered)
        {
            return remembered;
        }

        var found = await (
                from key in db.ApiKeys.AsNoTracking()
                join tenant in db.Tenants.AsNoTracking() on key.TenantId equals tenant.Id
                where key.KeyHash == hash && key.RevokedAt == null && (key.ExpiresAt == null || key.ExpiresAt > now)
                select new { key.Id, key.TenantId, key.Scopes, key.LastUsedAt, key.ExpiresAt, tenant.IsSystem, tenant.RateLimitPerMinute })
            .FirstOrDefaultAsync(cancellationToken);
        if (found is null)
        {
            return null;
        }

        if (found.LastUsedAt is null || now - found.LastUsedAt > LastUsedResolution)
        {
            await db.ApiKeys.Where(k => k.Id == found.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(k => k.LastUsedAt, now), cancellationToken);
        }

        var identity = new ApiKeyIdentity(found.Id, found.TenantId, found.Scopes, found.IsSystem, found.RateLimitPerMinute);
        cache.Remember(hash, identity, found.ExpiresAt, now);
        return identity;
    }
}

/// <summary>
/// Valid keys this API process looked up in the last few seconds, so a busy client costs no database read per request.
/// Revoking a key or changing its tenant forgets it here and, through Redis, in every other API process before the
/// change is answered, so a revoked key stops working on its next request. Should an announcement be lost (Redis
/// unreachable), an entry still lives only <see cref="MaxAge"/>; one never outlives its key's expiry.
/// </summary>
internal sealed class ApiKeyCache(IConnectionMultiplexer redis, ILogger<ApiKeyCache> logger) : IHostedService
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(10);
    private static readonly RedisChannel Changes = RedisChannel.Literal("access:api-keys-changed");
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public ApiKeyIdentity? Find(byte[] hash, DateTimeOffset now) =>
        _entries.TryGetValue(Convert.ToHexString(hash), out var entry) && now - entry.CachedAt < MaxAge && (entry.ExpiresAt is null || entry.ExpiresAt > now)
            ? entry.Identity
            : null;

    public void Remember(byte[] hash, ApiKeyIdentity identity, DateTimeOffset? expiresAt, DateTimeOffset now)
    {
        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[Convert.ToHexString(hash)] = new Entry(identity, expiresAt, now);
    }

    /// <summary>Forgets one key everywhere (after it was revoked).</summary>
    public Task ForgetKeyAsync(byte[] hash) => AnnounceAsync($"key:{Convert.ToHexString(hash)}");

    /// <summary>Forgets every key of a tenant everywhere (after the tenant changed, e.g. its rate limit).</summary>
    public Task ForgetTenantAsync(Guid tenantId) => AnnounceAsync($"tenant:{tenantId:N}");

    private async Task AnnounceAsync(string change)
    {
        Apply(change);
        try
        {
            await redis.GetSubscriber().PublishAsync(Changes, change);
        }
        catch (RedisException ex)
        {
            logger.LogWarning(ex, "Could not announce an API key change; other API processes see it within {MaxAge}", MaxAge);
        }
    }

    private void Apply(string change)
    {
        if (change.StartsWith("key:", StringComparison.Ordinal))
        {
            _entries.TryRemove(change[4..], out _);
        }
        else if (change.StartsWith("tenant:", StringComparison.Ordinal) && Guid.TryParse(change[7..], out var tenantId))
        {
            foreach (var (hash, entry) in _entries)
            {
                if (entry.Identity.TenantId == tenantId)
                {
                    _entries.TryRemove(hash, out _);
                }
            }
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await redis.GetSubscriber().SubscribeAsync(Changes, (_, message) => Apply(message.ToString()));
        }
        catch (RedisException ex)
        {
            logger.LogWarning(ex, "Could not subscribe to API key changes; cached keys expire within {MaxAge}", MaxAge);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private sealed record Entry(ApiKeyIdentity Identity, DateTimeOffset? ExpiresAt, DateTimeOffset CachedAt);
}
