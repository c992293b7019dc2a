using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using NodaTime.Extensions;
using Notify.Modules.Preferences.Caching;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Preferences.Data;
using Notify.Modules.Preferences.Domain;

namespace Notify.Modules.Preferences;

/// <summary>The contract Delivery calls; answers from the cache, so a plan costs no database or network round trip.</summary>
internal sealed class RecipientPreferences(
    PreferenceCache cache,
    FrequencyCapCounter caps,
    RecipientTokens links,
    IServiceScopeFactory scopes,
    TimeProvider clock) : IRecipientPreferences
{
    public async Task<RecipientPlan?> PlanAsync(PlanRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var defaults = await cache.DefaultsAsync(request.TenantId, cancellationToken);
        var now = clock.GetUtcNow().ToInstant();
        if (request.UserId is not null)
        {
            var recipient = await cache.RecipientAsync(request.TenantId, request.UserId, cancellationToken);
            return recipient is null ? null : PreferenceRules.Plan(recipient, defaults, request, now);
        }

        var inline = request.Inline ?? throw new ArgumentException("A plan needs a user id or an inline recipient.", nameof(request));
        var profile = new RecipientProfile(new RecipientSnapshot(
            "", inline.Email is null ? null : Addresses.Normalize(inline.Email), inline.Phone, inline.Locale, inline.TimeZone, null,
            Features.UserPreferences.Empty, [], [], await SuppressedAsync(request.TenantId, inline, cancellationToken)));
        return PreferenceRules.Plan(profile, defaults, request, now);
    }

    public async Task<CapDecision> TryConsumeFrequencyCapAsync(CapRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var defaults = await cache.DefaultsAsync(request.TenantId, cancellationToken);
        return await caps.TryConsumeAsync(request, defaults.Defaults.FrequencyCaps);
    }

    public RecipientLinks LinksFor(Guid tenantId, string userId, string category) => links.LinksFor(tenantId, userId, category);

    public async Task SuppressAddressAsync(Guid tenantId, string address, SuppressionReason reason, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<RecipientStore>().SuppressAsync(tenantId, address, SuppressionReasons.Of(reason), cancellationToken);
    }

    private async Task<IReadOnlyList<string>> SuppressedAsync(Guid tenantId, InlineRecipient inline, CancellationToken cancellationToken)
    {
        var addresses = new[] { inline.Email, inline.Phone }.OfType<string>().Select(Addresses.Normalize).ToList();
        if (addresses.Count == 0)
        {
            return [];
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PreferencesDbContext>();
        return await db.Suppressions.AsNoTracking()
            .Where(s => s.TenantId == tenantId && addresses.Contains(s.Address)).Select(s => s.Address).ToListAsync(cancellationToken);
    }
}

internal static class SuppressionReasons
{
    public const string HardBounce = "hard_bounce";
    public const string Complaint = "complaint";
    public const string Manual = "manual";

    public static string Of(SuppressionReason reason) => reason switch
    {
        SuppressionReason.HardBounce => HardBounce,
        SuppressionReason.Complaint => Complaint,
        _ => Manual,
    };
}
