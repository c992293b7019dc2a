using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Modules.Templates.Data;
using Notify.Modules.Templates.Domain;
using StackExchange.Redis;

namespace Notify.Modules.Templates.Caching;

internal sealed record BrandSnapshot(string Name, string? LogoUrl, string PrimaryColor, string? PostalAddress, bool EmailTracking = true);

/// <summary>Everything needed to render a published template without touching the database.</summary>
internal sealed record PublishedSnapshot(
    Guid TemplateId, string Key, string Category, string[] Channels, string DefaultLocale, int Version, TemplateContent Content, BrandSnapshot Brand);

/// <summary>
/// Published templates per (tenant, key), loaded once and kept in memory. Publishing, rolling back,
/// archiving or changing the brand invalidates the entry here and, through Redis pub/sub, in every other
/// API and Worker process. Entries also expire after a few minutes, in case an invalidation was missed
/// while Redis was unreachable.
/// </summary>
internal sealed class PublishedTemplateCache(
    IServiceScopeFactory scopes,
    IConnectionMultiplexer redis,
    TimeProvider clock,
    ILogger<PublishedTemplateCache> logger) : IHostedService
{
    private static readonly RedisChannel InvalidationChannel = RedisChannel.Literal("notify:templates:invalidate");
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);
    private const string AllKeys = "*";

    private readonly ConcurrentDictionary<(Guid TenantId, string Key), Entry> _entries = new();

    public async Task<PublishedSnapshot?> GetAsync(Guid tenantId, string key, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        while (true)
        {
            var entry = _entries.GetOrAdd((tenantId, key), k => new Entry(now, new Lazy<Task<PublishedSnapshot?>>(() => LoadAsync(k.TenantId, k.Key))));
            if (now - entry.LoadedAt > MaxAge || entry.Value.Value is { IsFaulted: true })
            {
                _entries.TryRemove(new KeyValuePair<(Guid, string), Entry>((tenantId, key), entry));
                continue;
            }

            return await entry.Value.Value.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Drops the entry (or all the tenant's entries when <paramref name="key"/> is null) here and everywhere else.</summary>
    public async Task InvalidateAsync(Guid tenantId, string? key)
    {
        Evict(tenantId, key ?? AllKeys);
        try
        {
            await redis.GetSubscriber().PublishAsync(InvalidationChannel, $"{tenantId:N}:{key ?? AllKeys}");
        }
        catch (RedisException ex)
        {
            logger.LogWarning(ex, "Could not broadcast a template cache invalidation; other processes catch up within {MaxAge}", MaxAge);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var queue = await redis.GetSubscriber().SubscribeAsync(InvalidationChannel);
        queue.OnMessage(message =>
        {
            var text = (string?)message.Message;
            var colon = text?.IndexOf(':', StringComparison.Ordinal) ?? -1;
            if (colon > 0 && Guid.TryParseExact(text![..colon], "N", out var tenantId))
            {
                Evict(tenantId, text[(colon + 1)..]);
            }
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Evict(Guid tenantId, string key)
    {
        foreach (var cached in _entries.Keys)
        {
            if (cached.TenantId == tenantId && (key == AllKeys || cached.Key == key))
            {
                _entries.TryRemove(cached, out _);
            }
        }
    }

    private async Task<PublishedSnapshot?> LoadAsync(Guid tenantId, string key)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TemplatesDbContext>();
        var template = await db.Templates.AsNoTracking()
            .FirstOrDefaultAsync(t => t.TenantId == tenantId && t.Key == key && t.ArchivedAt == null && t.PublishedVersion != null);
        if (template is null)
        {
            return null;
        }

        var version = await db.Versions.AsNoTracking().SingleAsync(v => v.TemplateId == template.Id && v.Version == template.PublishedVersion);
        var brand = await db.Brands.AsNoTracking().FirstOrDefaultAsync(b => b.TenantId == tenantId);
        return new PublishedSnapshot(
            template.Id, template.Key, template.Category, template.Channels, template.DefaultLocale, version.Version, version.Content,
            ToSnapshot(brand));
    }

    public static BrandSnapshot ToSnapshot(Brand? brand) =>
        brand is null
            ? new BrandSnapshot("Notify", null, Brand.DefaultColor, null)
            : new BrandSnapshot(brand.Name, brand.LogoUrl, brand.PrimaryColor, brand.PostalAddress, brand.EmailTracking);

    private sealed record Entry(DateTimeOffset LoadedAt, Lazy<Task<PublishedSnapshot?>> Value);
}
