using System.Text.RegularExpressions;

namespace Notify.Modules.Abstractions;

/// <summary>
/// The shapes every module accepts for addresses and category names, in one place, so an address Preferences
/// stores is one Delivery accepts inline and the other way round.
/// </summary>
public static partial class Formats
{
    public const int MaxEmailLength = 320;

    /// <summary>Something@domain.tld, at most 320 characters; the mail server has the final word.</summary>
    public static bool IsEmail(string? value) => value is { Length: <= MaxEmailLength } && Email().IsMatch(value);

    /// <summary>E.164: +, a country code and the number, digits only (e.g. +14155550123).</summary>
    public static bool IsE164Phone(string? value) => value is not null && E164().IsMatch(value);

    /// <summary>A category: a lower-case slug of letters, digits and - _ . (e.g. marketing), at most 100 characters.</summary>
    public static bool IsCategory(string? value) => value is not null && Category().IsMatch(value);

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex Email();

    [GeneratedRegex(@"^\+[1-9][0-9]{6,14}$")]
    private static partial Regex E164();

    [GeneratedRegex("^[a-z0-9][a-z0-9_.-]{0,99}$")]
    private static partial Regex Category();
}
