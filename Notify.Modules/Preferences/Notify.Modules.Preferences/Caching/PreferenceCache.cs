using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Preferences.Data;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Preferences.Features;
using StackExchange.Redis;

namespace Notify.Modules.Preferences.Caching;

/// <summary>The recipient and tenant-default profiles every plan reads, and the announcements that keep them current.</summary>
internal sealed class PreferenceCache : IHostedService
{
    private static readonly RedisChannel Announcements = RedisChannel.Literal("notify:preferences:changed");
    private const string DefaultsId = "";

    private readonly IServiceScopeFactory _scopes;
    private readonly IConnectionMultiplexer _redis;

    public PreferenceCache(IServiceScopeFactory scopes, IConnectionMultiplexer redis, TimeProvider clock, ILogger<PreferenceCache> logger)
    {
        _scopes = scopes;
        _redis = redis;
        Recipients = new ProfileCache<RecipientSnapshot, RecipientProfile?>(
            "recipient", redis, clock, LoadRecipientAsync, s => s is null ? null : new RecipientProfile(s), logger);
        Defaults = new ProfileCache<TenantDefaults, DefaultsProfile>(
            "defaults", redis, clock, LoadDefaultsAsync, d => d is null ? DefaultsProfile.Empty : new DefaultsProfile(d), logger);
    }

    /// <summary>Null profile: no such recipient.</summary>
    public ProfileCache<RecipientSnapshot, RecipientProfile?> Recipients { get; }

    public ProfileCache<TenantDefaults, DefaultsProfile> Defaults { get; }

    public ValueTask<RecipientProfile?> RecipientAsync(Guid tenantId, string userId, CancellationToken cancellationToken) =>
        Recipients.GetAsync(tenantId, userId, cancellationToken);

    public ValueTask<DefaultsProfile> DefaultsAsync(Guid tenantId, CancellationToken cancellationToken) =>
        Defaults.GetAsync(tenantId, DefaultsId, cancellationToken);

    /// <summary>Call after committing any change to a recipient (or its devices, unsubscribes, suppressed addresses).</summary>
    public Task RecipientChangedAsync(Guid tenantId, string userId, CancellationToken cancellationToken, long deletedRevision = 0) =>
        Recipients.PublishChangeAsync(tenantId, userId, deletedRevision, Announcements, cancellationToken);

    public Task DefaultsChangedAsync(Guid tenantId, CancellationToken cancellationToken) =>
        Defaults.PublishChangeAsync(tenantId, DefaultsId, 0, Announcements, cancellationToken);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var queue = await _redis.GetSubscriber().SubscribeAsync(Announcements);
        queue.OnMessage(message =>
        {
            // kind|tenant|revision|id — the id last, since a client's ids may contain '|'.
            var parts = ((string?)message.Message)?.Split('|', 4);
            if (parts is not { Length: 4 } || !Guid.TryParseExact(parts[1], "N", out var tenantId) || !long.TryParse(parts[2], out var revision))
            {
                return;
            }

            if (parts[0] == Recipients.Kind)
            {
                Recipients.MarkStale(tenantId, parts[3], revision);
            }
            else if (parts[0] == Defaults.Kind)
            {
                Defaults.MarkStale(tenantId, parts[3], revision);
            }
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task<(long, RecipientSnapshot?)> LoadRecipientAsync(Guid tenantId, string userId, CancellationToken cancellationToken)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PreferencesDbContext>();
        var recipient = await db.Recipients.AsNoTracking().AsSplitQuery()
            .Include(r => r.Devices).Include(r => r.Unsubscribes)
            .FirstOrDefaultAsync(r => r.TenantId == tenantId && r.UserId == userId, cancellationToken);
        if (recipient is null)
        {
            return (0, null);
        }

        var addresses = new[] { recipient.Email, recipient.Phone }.OfType<string>().ToList();
        var suppressed = addresses.Count == 0 ? [] : await db.Suppressions.AsNoTracking()
            .Where(s => s.TenantId == tenantId && addresses.Contains(s.Address)).Select(s => s.Address).ToListAsync(cancellationToken);
        return (recipient.Revision, ToSnapshot(recipient, suppressed));
    }

    public static RecipientSnapshot ToSnapshot(Recipient recipient, IReadOnlyList<string> suppressed) => new(
        recipient.UserId, recipient.Email, recipient.Phone, recipient.Locale, recipient.TimeZone, recipient.WebhookUrl, recipient.Preferences,
        recipient.Devices.OrderBy(d => d.Id).Select(d => new PushDevice(d.Id, d.Kind, d.Token, d.P256dh, d.Auth)).ToList(),
        recipient.Unsubscribes.Select(u => new UnsubscribeSnapshot(u.Category, u.ExpiresAt)).ToList(),
        suppressed);

    private async Task<(long, TenantDefaults?)> LoadDefaultsAsync(Guid tenantId, string id, CancellationToken cancellationToken)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PreferencesDbContext>();
        var row = await db.TenantDefaults.AsNoTracking().FirstOrDefaultAsync(d => d.TenantId == tenantId, cancellationToken);
        return row is null ? (0, null) : (row.Revision, row.Document);
    }
}
