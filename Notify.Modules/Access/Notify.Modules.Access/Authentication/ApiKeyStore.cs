using Microsoft.EntityFrameworkCore;
using Notify.Modules.Access.Data;
using Notify.Modules.Access.Domain;

namespace Notify.Modules.Access.Authentication;

/// <summary>What a valid key grants.</summary>
internal sealed record ApiKeyIdentity(Guid KeyId, Guid TenantId, string[] Scopes, bool SystemTenant, int RateLimitPerMinute);

/// <summary>
/// Looks keys up by hash on every request. There is deliberately no cache: a revoked or expired key
/// stops working on its next request. The lookup is one indexed read.
/// </summary>
internal sealed class ApiKeyStore(AccessDbContext db, TimeProvider clock)
{
    // Writing last_used_at on every request would turn each read into a write; a minute is precise enough.
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    public async Task<ApiKeyIdentity?> FindAsync(string plainKey, CancellationToken cancellationToken)
    {
        var hash = ApiKey.Hash(plainKey);
        var now = clock.GetUtcNow();
        var found = await (
                from key in db.ApiKeys.AsNoTracking()
                join tenant in db.Tenants.AsNoTracking() on key.TenantId equals tenant.Id
                where key.KeyHash == hash && key.RevokedAt == null && (key.ExpiresAt == null || key.ExpiresAt > now)
                select new { key.Id, key.TenantId, key.Scopes, key.LastUsedAt, tenant.IsSystem, tenant.RateLimitPerMinute })
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

        return new ApiKeyIdentity(found.Id, found.TenantId, found.Scopes, found.IsSystem, found.RateLimitPerMinute);
    }
}
