using System.Dynamic;
using Microsoft.AspNetCore.Http;
using NodaTime;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Preferences.Features;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Preferences.Pages;

/// <summary>
/// Between the preference center's HTML form and the preference documents. The form shows the effective state
/// (what the recipient would receive); saving stores only what differs from the layers below, so a recipient who
/// ticks what the tenant already allows keeps inheriting later changes to the defaults.
/// </summary>
internal static class PreferenceCenterForm
{
    private static readonly (string Key, string Label)[] PageChannels =
        [(Channels.Email, "Email"), (Channels.Sms, "SMS"), (Channels.Push, "Push"), (Channels.InApp, "In-app")];

    private static readonly IReadOnlyList<string> Zones = DateTimeZoneProviders.Tzdb.Ids.Where(id => id.Contains('/', StringComparison.Ordinal) || id == "UTC")
        .Order(StringComparer.Ordinal).ToList();

    public static string LabelOf(TenantDefaults defaults, string category) =>
        defaults.Categories is { } categories && categories.TryGetValue(category, out var found) && found.Label is { Length: > 0 } label
            ? label
            : char.ToUpperInvariant(category[0]) + category[1..].Replace('-', ' ').Replace('_', ' ');

    /// <summary>Categories on the page: the tenant's, plus any the recipient has settings or an unsubscribe for.</summary>
    private static List<string> CategoriesOf(TenantDefaults defaults, Recipient recipient) =>
        (defaults.Categories?.Keys ?? Enumerable.Empty<string>())
            .Concat(recipient.Preferences.Categories?.Keys ?? Enumerable.Empty<string>())
            .Concat(recipient.Preferences.Digests?.Keys ?? Enumerable.Empty<string>())
            .Concat(recipient.Unsubscribes.Select(u => u.Category))
            .Distinct(StringComparer.Ordinal)
            .OrderBy(c => MandatoryCategories.Contains(c) ? 0 : 1).ThenBy(c => c, StringComparer.Ordinal)
            .ToList();

    public static ExpandoObject View(string token, Recipient recipient, TenantDefaults defaults, DateTimeOffset now, bool saved, string? error)
    {
        var user = recipient.Preferences;
        var unsubscribed = recipient.Unsubscribes.Where(u => u.ExpiresAt is null || u.ExpiresAt > now).Select(u => u.Category).ToHashSet();
        var categories = CategoriesOf(defaults, recipient).Select(category =>
        {
            var mandatory = MandatoryCategories.Contains(category);
            var digest = user.Digests?.GetValueOrDefault(category) ?? defaults.Categories?.GetValueOrDefault(category)?.Digest;
            return PageRenderer.View(new()
            {
                ["Key"] = category,
                ["Label"] = LabelOf(defaults, category),
                ["Mandatory"] = mandatory,
                ["Unsubscribed"] = unsubscribed.Contains(category),
                ["Cells"] = PageChannels.Select(c => PageRenderer.View(new()
                {
                    ["Name"] = $"cat.{category}.{c.Key}",
                    ["Label"] = c.Label,
                    ["Checked"] = mandatory || (!unsubscribed.Contains(category) && PreferenceRules.Layered(defaults, user, category, c.Key).Allowed),
                })).ToList(),
                ["Digest"] = digest?.Frequency ?? DigestSchedule.Off,
                ["DigestTime"] = digest?.Time ?? "09:00",
                ["DigestDay"] = digest?.Day ?? "monday",
            });
        }).ToList();

        var quiet = user.QuietHours;
        return PageRenderer.View(new()
        {
            ["Token"] = token,
            ["Saved"] = saved,
            ["Error"] = error,
            ["Channels"] = PageChannels.Select(c => PageRenderer.View(new() { ["Key"] = c.Key, ["Label"] = c.Label })).ToList(),
            ["ChannelSwitches"] = PageChannels.Select(c => PageRenderer.View(new()
            {
                ["Key"] = c.Key,
                ["Label"] = c.Label,
                ["Checked"] = user.Channels?.GetValueOrDefault(c.Key) != PreferenceSetting.Forbid,
            })).ToList(),
            ["Categories"] = categories,
            ["Days"] = LocalSchedule.DayNames.Select(d => PageRenderer.View(new() { ["Key"] = d, ["Label"] = Capitalize(d) })).ToList(),
            ["QuietEnabled"] = quiet is not null,
            ["QuietStart"] = quiet?.Start ?? "22:00",
            ["QuietEnd"] = quiet?.End ?? "07:00",
            ["QuietDays"] = LocalSchedule.DayNames.Select(d => PageRenderer.View(new()
            {
                ["Key"] = d,
                ["Label"] = Capitalize(d)[..3],
                ["Checked"] = quiet?.Days is null || quiet.Days.Contains(d),
            })).ToList(),
            ["TimeZone"] = recipient.TimeZone ?? "UTC",
            ["TimeZones"] = Zones,
        });
    }

    /// <summary>The recipient's new preferences, time zone and the categories they ticked again after unsubscribing; or an error to show.</summary>
    public static (UserPreferences? Preferences, string? TimeZone, IReadOnlyList<string> Resubscribe, string? Error) Read(
        IFormCollection form, Recipient recipient, TenantDefaults defaults)
    {
        var zone = form["timeZone"].ToString();
        if (DateTimeZoneProviders.Tzdb.GetZoneOrNull(zone) is null)
        {
            return (null, null, [], "Choose your time zone from the list.");
        }

        bool Ticked(string name) => form.ContainsKey(name);

        // Channel switches: unticked forbids; ticked keeps an explicit allow, otherwise inherits.
        var channels = new Dictionary<string, PreferenceSetting>(recipient.Preferences.Channels ?? new Dictionary<string, PreferenceSetting>());
        foreach (var (channel, _) in PageChannels)
        {
            channels[channel] = Ticked($"channel.{channel}")
                ? channels.GetValueOrDefault(channel) == PreferenceSetting.Allow ? PreferenceSetting.Allow : PreferenceSetting.Inherit
                : PreferenceSetting.Forbid;
        }

        var withChannels = recipient.Preferences with { Channels = Compact(channels) };
        var categorySettings = new Dictionary<string, IReadOnlyDictionary<string, PreferenceSetting>>(
            recipient.Preferences.Categories ?? new Dictionary<string, IReadOnlyDictionary<string, PreferenceSetting>>());
        var digests = new Dictionary<string, DigestSetting>(recipient.Preferences.Digests ?? new Dictionary<string, DigestSetting>());
        var resubscribe = new List<string>();
        foreach (var category in CategoriesOf(defaults, recipient).Where(c => !MandatoryCategories.Contains(c)))
        {
            // What the layers below say, so only a difference from them is stored.
            var below = withChannels with { Categories = null };
            var cells = new Dictionary<string, PreferenceSetting>(categorySettings.GetValueOrDefault(category) ?? new Dictionary<string, PreferenceSetting>());
            var anyTicked = false;
            foreach (var (channel, _) in PageChannels)
            {
                var ticked = Ticked($"cat.{category}.{channel}");
                anyTicked |= ticked;
                cells[channel] = ticked == PreferenceRules.Layered(defaults, below, category, channel).Allowed
                    ? PreferenceSetting.Inherit
                    : ticked ? PreferenceSetting.Allow : PreferenceSetting.Forbid;
            }

            if (Compact(cells) is { } compact)
            {
                categorySettings[category] = compact;
            }
            else
            {
                categorySettings.Remove(category);
            }

            if (anyTicked && recipient.Unsubscribes.Any(u => u.Category == category))
            {
                resubscribe.Add(category);
            }

            var frequency = form[$"digest.{category}"].ToString();
            var chosen = new DigestSetting(frequency is "" ? DigestSchedule.Off : frequency,
                frequency is DigestSchedule.Daily or DigestSchedule.Weekly ? form[$"digestTime.{category}"].ToString() : null,
                frequency == DigestSchedule.Weekly ? form[$"digestDay.{category}"].ToString() : null);
            if (DigestSchedule.Parse(chosen, out var digestError) is null && digestError is not null)
            {
                return (null, null, [], $"{LabelOf(defaults, category)} digest: {digestError}");
            }

            var fallback = defaults.Categories?.GetValueOrDefault(category)?.Digest ?? new DigestSetting(DigestSchedule.Off);
            if (chosen == fallback || (chosen.Frequency == DigestSchedule.Off && fallback.Frequency == DigestSchedule.Off))
            {
                digests.Remove(category);
            }
            else
            {
                digests[category] = chosen;
            }
        }

        TimeWindow? quiet = null;
        if (Ticked("quiet"))
        {
            var days = form["quietDay"].Select(d => d ?? "").ToList();
            quiet = new TimeWindow(form["quietStart"].ToString(), form["quietEnd"].ToString(), days.Count == 7 ? null : days);
            if (DailyWindow.Parse(quiet, out var windowError) is null)
            {
                return (null, null, [], $"Quiet hours: {windowError}");
            }
        }

        var preferences = withChannels with
        {
            Categories = categorySettings.Count == 0 ? null : categorySettings,
            Digests = digests.Count == 0 ? null : digests,
            QuietHours = quiet,
        };
        return (preferences, zone, resubscribe, null);
    }

    private static Dictionary<string, PreferenceSetting>? Compact(Dictionary<string, PreferenceSetting> settings)
    {
        var kept = settings.Where(s => s.Value != PreferenceSetting.Inherit).ToDictionary(s => s.Key, s => s.Value);
        return kept.Count == 0 ? null : kept;
    }

    private static string Capitalize(string word) => char.ToUpperInvariant(word[0]) + word[1..];
}
