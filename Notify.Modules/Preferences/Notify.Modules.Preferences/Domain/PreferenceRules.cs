using NodaTime;
using NodaTime.Extensions;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Preferences.Features;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Preferences.Domain;

/// <summary>What is cached per recipient (and in Redis, as JSON): the recipient with everything that decides a plan.</summary>
internal sealed record RecipientSnapshot(
    string UserId,
    string? Email,
    string? Phone,
    string? Locale,
    string? TimeZone,
    string? WebhookUrl,
    UserPreferences Preferences,
    IReadOnlyList<PushDevice> Devices,
    IReadOnlyList<UnsubscribeSnapshot> Unsubscribes,
    IReadOnlyList<string> SuppressedAddresses);

internal sealed record UnsubscribeSnapshot(string Category, DateTimeOffset? ExpiresAt);

/// <summary>A recipient snapshot with its time zone, windows and digests parsed once, when it enters the cache.</summary>
internal sealed class RecipientProfile
{
    public RecipientProfile(RecipientSnapshot snapshot)
    {
        Snapshot = snapshot;
        Zone = (snapshot.TimeZone is null ? null : DateTimeZoneProviders.Tzdb.GetZoneOrNull(snapshot.TimeZone)) ?? DateTimeZone.Utc;
        QuietHours = snapshot.Preferences.QuietHours is { } quiet ? DailyWindow.Parse(quiet, out _) : null;
        WorkHours = snapshot.Preferences.WorkHours is { } work ? DailyWindow.Parse(work, out _) : null;
        Digests = Compile(snapshot.Preferences.Digests);
        Unsubscribes = snapshot.Unsubscribes.ToDictionary(u => u.Category, u => u.ExpiresAt, StringComparer.Ordinal);
        EmailSuppressed = snapshot.Email is not null && snapshot.SuppressedAddresses.Contains(snapshot.Email);
        PhoneSuppressed = snapshot.Phone is not null && snapshot.SuppressedAddresses.Contains(snapshot.Phone);
    }

    public RecipientSnapshot Snapshot { get; }
    public DateTimeZone Zone { get; }
    public DailyWindow? QuietHours { get; }
    public DailyWindow? WorkHours { get; }
    /// <summary>Category → schedule; a category set to <c>off</c> maps to null (overriding the tenant's default digest).</summary>
    public IReadOnlyDictionary<string, DigestSchedule?> Digests { get; }
    public IReadOnlyDictionary<string, DateTimeOffset?> Unsubscribes { get; }
    public bool EmailSuppressed { get; }
    public bool PhoneSuppressed { get; }

    public static IReadOnlyDictionary<string, DigestSchedule?> Compile(IReadOnlyDictionary<string, DigestSetting>? digests) =>
        (digests ?? new Dictionary<string, DigestSetting>()).ToDictionary(d => d.Key, d => DigestSchedule.Parse(d.Value, out _), StringComparer.Ordinal);
}

/// <summary>The tenant's defaults with digest schedules parsed once.</summary>
internal sealed class DefaultsProfile(TenantDefaults defaults)
{
    public static readonly DefaultsProfile Empty = new(TenantDefaults.Empty);

    public TenantDefaults Defaults { get; } = defaults;

    public IReadOnlyDictionary<string, DigestSchedule?> Digests { get; } = RecipientProfile.Compile(
        defaults.Categories?.Where(c => c.Value.Digest is not null).ToDictionary(c => c.Key, c => c.Value.Digest!));
}

/// <summary>The rules that turn preferences into a per-channel plan. Pure: no I/O, time passed in.</summary>
internal static class PreferenceRules
{
    private static readonly IReadOnlyList<PushDevice> NoDevices = [];

    /// <summary>
    /// The three preference layers, most specific first: the recipient's setting for the category and channel,
    /// then the recipient's switch for the channel, then the tenant's default for the category and channel.
    /// The first that is not <c>inherit</c> decides; when all inherit, the channel is allowed.
    /// </summary>
    public static (bool Allowed, string Reason) Layered(TenantDefaults defaults, UserPreferences user, string category, string channel)
    {
        if (user.Categories is { } categories && categories.TryGetValue(category, out var perChannel)
            && perChannel.TryGetValue(channel, out var setting) && setting != PreferenceSetting.Inherit)
        {
            return setting == PreferenceSetting.Allow ? (true, PlanReasons.Allowed) : (false, PlanReasons.ForbiddenByUserCategory);
        }

        if (user.Channels is { } channels && channels.TryGetValue(channel, out setting) && setting != PreferenceSetting.Inherit)
        {
            return setting == PreferenceSetting.Allow ? (true, PlanReasons.Allowed) : (false, PlanReasons.ForbiddenByUserChannel);
        }

        if (defaults.Categories is { } defaultCategories && defaultCategories.TryGetValue(category, out var categoryDefaults)
            && categoryDefaults.Channels is { } defaultChannels && defaultChannels.TryGetValue(channel, out setting)
            && setting != PreferenceSetting.Inherit)
        {
            return setting == PreferenceSetting.Allow ? (true, PlanReasons.Allowed) : (false, PlanReasons.ForbiddenByTenantDefault);
        }

        return (true, PlanReasons.Allowed);
    }

    /// <summary>
    /// The plan for every candidate channel. Order of the checks: an address (or device) to send to; the address
    /// not suppressed; mandatory categories go now; an unsubscribe stops even critical messages; critical priority
    /// skips the preference layers, windows and digests; the preference layers; then a digest (for every channel
    /// but in-app, whose inbox is not interruptive) or the quiet/work-hours delay.
    /// </summary>
    public static RecipientPlan Plan(RecipientProfile recipient, DefaultsProfile defaults, PlanRequest request, Instant now)
    {
        var snapshot = recipient.Snapshot;
        var mandatory = MandatoryCategories.Contains(request.Category);
        var critical = request.Priority == NotificationPriority.Critical;
        var unsubscribed = !mandatory && recipient.Unsubscribes.TryGetValue(request.Category, out var until)
            && (until is null || until.Value.ToInstant() > now);
        Instant? deliverAt = null;
        var timingDone = false;
        DigestPlan? digest = null;
        var digestDone = false;

        var plans = new ChannelPlan[request.Channels.Count];
        for (var i = 0; i < plans.Length; i++)
        {
            var channel = request.Channels[i];
            var (address, devices, hasAddress, suppressed) = channel switch
            {
                Channels.Email => (snapshot.Email, NoDevices, snapshot.Email is not null, recipient.EmailSuppressed),
                Channels.Sms => (snapshot.Phone, NoDevices, snapshot.Phone is not null, recipient.PhoneSuppressed),
                Channels.Push => (null, snapshot.Devices, snapshot.Devices.Count > 0, false),
                Channels.InApp => (null, NoDevices, request.UserId is not null, false),
                Channels.Webhook => (snapshot.WebhookUrl, NoDevices, snapshot.WebhookUrl is not null, false),
                _ => (null, NoDevices, false, false),
            };

            string reason;
            var allowed = false;
            if (!hasAddress)
            {
                reason = PlanReasons.NoAddress;
            }
            else if (suppressed)
            {
                reason = PlanReasons.Suppressed;
            }
            else if (mandatory)
            {
                (allowed, reason) = (true, PlanReasons.MandatoryCategory);
            }
            else if (unsubscribed)
            {
                reason = PlanReasons.Unsubscribed;
            }
            else if (critical)
            {
                (allowed, reason) = (true, PlanReasons.CriticalPriority);
            }
            else
            {
                (allowed, reason) = Layered(defaults.Defaults, snapshot.Preferences, request.Category, channel);
            }

            DigestPlan? channelDigest = null;
            Instant? channelDeliverAt = null;
            if (allowed && reason == PlanReasons.Allowed)
            {
                if (!digestDone)
                {
                    digest = DigestFor(recipient, defaults, request.Category, now);
                    digestDone = true;
                }

                if (digest is not null && channel != Channels.InApp)
                {
                    channelDigest = digest;
                }
                else
                {
                    if (!timingDone)
                    {
                        deliverAt = DeliveryTiming.DeliverAt(now, recipient.Zone, recipient.QuietHours, recipient.WorkHours);
                        timingDone = true;
                    }

                    channelDeliverAt = deliverAt;
                }
            }

            plans[i] = new ChannelPlan(channel, allowed, reason, channelDeliverAt?.ToDateTimeOffset(), channelDigest, allowed ? address : null,
                allowed ? devices : NoDevices);
        }

        return new RecipientPlan(request.UserId, snapshot.Locale, recipient.Zone.Id, plans);
    }

    private static DigestPlan? DigestFor(RecipientProfile recipient, DefaultsProfile defaults, string category, Instant now)
    {
        // The recipient's own setting wins, including "off" over a tenant default digest.
        var schedule = recipient.Digests.TryGetValue(category, out var own) ? own
            : defaults.Digests.TryGetValue(category, out var fallback) ? fallback
            : null;
        return schedule is null ? null : new DigestPlan(schedule.Frequency, schedule.Next(now, recipient.Zone).ToDateTimeOffset());
    }
}
