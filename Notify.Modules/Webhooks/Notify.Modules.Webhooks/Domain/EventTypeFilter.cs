using Notify.Modules.Webhooks.Contracts;

namespace Notify.Modules.Webhooks.Domain;

/// <summary>An endpoint's event filter: exact types, <c>prefix.*</c> (e.g. <c>notification.*</c>) or <c>*</c>.</summary>
internal static class EventTypeFilter
{
    public const string All = "*";

    /// <summary>True when <paramref name="pattern"/> names a known type or matches at least one.</summary>
    public static bool IsValid(string pattern) =>
        pattern == All || WebhookEventTypes.All.Any(type => Matches(pattern, type));

    public static bool Matches(string pattern, string type) =>
        pattern == All
        || string.Equals(pattern, type, StringComparison.Ordinal)
        || (pattern.EndsWith(".*", StringComparison.Ordinal)
            && type.Length > pattern.Length - 1
            && type.StartsWith(pattern.AsSpan(0, pattern.Length - 1), StringComparison.Ordinal));

    public static bool Accepts(IEnumerable<string> patterns, string type) => patterns.Any(p => Matches(p, type));
}
