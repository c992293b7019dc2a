using FluentValidation;
using Notify.Modules.Abstractions;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Preferences.Features;

/// <summary>Checks shared by the recipient's and the tenant's preference documents.</summary>
internal static class PreferenceDocumentRules
{
    private static string ChannelList => string.Join(", ", Channels.All);

    public static void AddChannelRules<T>(this AbstractValidator<T> validator, Func<T, IReadOnlyDictionary<string, PreferenceSetting>?> channels, string path) =>
        validator.RuleForEach(x => channels(x) == null ? Enumerable.Empty<string>() : channels(x)!.Keys)
            .Must(c => Channels.All.Contains(c)).WithMessage((_, c) => $"Unknown channel '{c}'. Channels: {ChannelList}.")
            .OverridePropertyName(path);

    public static void AddCategoryKeyRules<T, TValue>(this AbstractValidator<T> validator, Func<T, IReadOnlyDictionary<string, TValue>?> map, string path) =>
        validator.RuleForEach(x => map(x) == null ? Enumerable.Empty<string>() : map(x)!.Keys)
            .Must(Formats.IsCategory)
            .WithMessage((_, c) => $"'{c}' is not a category: use a lower-case slug (letters, digits, - _ .), e.g. marketing.")
            .OverridePropertyName(path);

    public static void AddWindowRule<T>(this AbstractValidator<T> validator, Func<T, TimeWindow?> window, string path) =>
        validator.RuleFor(x => window(x)).Custom((w, context) =>
        {
            if (w is not null && DailyWindow.Parse(w, out var error) is null)
            {
                context.AddFailure(path, $"{path}: {error}");
            }
        });

    public static void AddDigestRules<T>(this AbstractValidator<T> validator, Func<T, IEnumerable<KeyValuePair<string, DigestSetting>>> digests, string path) =>
        validator.RuleFor(x => digests(x)).Custom((all, context) =>
        {
            foreach (var (category, digest) in all)
            {
                string? error = "a digest setting is required";
                if (digest is not null)
                {
                    DigestSchedule.Parse(digest, out error);
                }

                if (error is not null)
                {
                    context.AddFailure($"{path}.{category}", $"{path}.{category}: {error}");
                }
            }
        });

    /// <summary>The rule of issue-level importance: transactional and system messages cannot be switched off or held back.</summary>
    public static string? MandatoryViolation(IEnumerable<(string Category, IReadOnlyDictionary<string, PreferenceSetting>? Channels, DigestSetting? Digest)> categories)
    {
        foreach (var (category, channels, digest) in categories)
        {
            if (!MandatoryCategories.Contains(category))
            {
                continue;
            }

            if (channels?.Any(c => c.Value == PreferenceSetting.Forbid) == true)
            {
                return $"The '{category}' category cannot be switched off: password resets, receipts and security alerts must always arrive. Remove the 'forbid' settings for it.";
            }

            if (digest is not null && digest.Frequency != DigestSchedule.Off)
            {
                return $"The '{category}' category cannot be put in a digest: its messages must arrive when they are sent.";
            }
        }

        return null;
    }
}
