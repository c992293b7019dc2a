using System.Text.Json.Serialization;

namespace Notify.Modules.Preferences.Features;

/// <summary>One layer's say on a category × channel (or a channel): defer to the layer below, allow, or forbid.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PreferenceSetting>))]
public enum PreferenceSetting
{
    [JsonStringEnumMemberName("inherit")] Inherit,
    [JsonStringEnumMemberName("allow")] Allow,
    [JsonStringEnumMemberName("forbid")] Forbid,
}

/// <summary>
/// A recipient's own settings, stored and returned as one document. Channel switches apply to every category;
/// category settings override them for one category. Every part is optional.
/// </summary>
/// <param name="Channels">Channel → setting, across all categories.</param>
/// <param name="Categories">Category → channel → setting.</param>
/// <param name="QuietHours">Do not disturb: non-critical messages inside the window wait for its end.</param>
/// <param name="WorkHours">Deliver only inside the window: non-critical messages outside it wait for its next start.</param>
/// <param name="Digests">Category → digest schedule.</param>
public sealed record UserPreferences(
    IReadOnlyDictionary<string, PreferenceSetting>? Channels = null,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, PreferenceSetting>>? Categories = null,
    TimeWindow? QuietHours = null,
    TimeWindow? WorkHours = null,
    IReadOnlyDictionary<string, DigestSetting>? Digests = null)
{
    public static readonly UserPreferences Empty = new();
}

/// <summary>A daily window in the recipient's time zone, e.g. 22:00–07:00 (crossing midnight is fine).</summary>
/// <param name="Start">Local start time, <c>HH:mm</c>.</param>
/// <param name="End">Local end time, <c>HH:mm</c>; earlier than the start means the next day.</param>
/// <param name="Days">The days on which the window starts (<c>monday</c>…<c>sunday</c>); every day when absent.</param>
public sealed record TimeWindow(string Start, string End, IReadOnlyList<string>? Days = null);

/// <summary>How a category reaches the recipient: one by one (<c>off</c>), or collected into a digest.</summary>
/// <param name="Frequency"><c>off</c>, <c>daily</c> or <c>weekly</c>.</param>
/// <param name="Time">Local time the digest goes out, <c>HH:mm</c> (daily and weekly).</param>
/// <param name="Day">Day of the week (weekly), <c>monday</c>…<c>sunday</c>.</param>
public sealed record DigestSetting(string Frequency, string? Time = null, string? Day = null);

/// <summary>The tenant's defaults: the bottom preference layer, and the frequency caps.</summary>
/// <param name="Categories">Category → its label, default channel settings and default digest.</param>
/// <param name="FrequencyCaps">Limits per recipient.</param>
public sealed record TenantDefaults(
    IReadOnlyDictionary<string, CategoryDefaults>? Categories = null,
    FrequencyCaps? FrequencyCaps = null)
{
    public static readonly TenantDefaults Empty = new();
}

/// <param name="Label">What the preference center calls the category.</param>
/// <param name="Channels">Channel → default setting.</param>
/// <param name="Digest">Default digest schedule for the category.</param>
public sealed record CategoryDefaults(string? Label = null, IReadOnlyDictionary<string, PreferenceSetting>? Channels = null, DigestSetting? Digest = null);

/// <param name="Channels">Channel → limits for each recipient.</param>
/// <param name="Overall">Limits for each recipient across channels.</param>
public sealed record FrequencyCaps(IReadOnlyDictionary<string, CapLimit>? Channels = null, CapLimit? Overall = null);

/// <param name="PerHour">At most this many per clock hour (UTC).</param>
/// <param name="PerDay">At most this many per day (UTC).</param>
public sealed record CapLimit(int? PerHour = null, int? PerDay = null);
