using System.Text.Json;
using System.Text.RegularExpressions;
using FluentValidation;
using NodaTime;
using Notify.Modules.Abstractions;

namespace Notify.Modules.Preferences.Features.Recipients;

/// <summary>A recipient's profile as a client sends it (the whole profile: absent fields are cleared).</summary>
/// <param name="Email">Email address.</param>
/// <param name="Phone">Phone number in E.164 form, e.g. +14155550123.</param>
/// <param name="Locale">BCP 47 locale for templates, e.g. pt-BR.</param>
/// <param name="TimeZone">IANA time zone for quiet hours and digests, e.g. Europe/Berlin.</param>
/// <param name="WebhookUrl">Where the webhook channel posts this recipient's notifications (https).</param>
/// <param name="Properties">Your own data about the recipient (a JSON object), available to templates.</param>
public sealed record RecipientProfileFields(
    string? Email = null,
    string? Phone = null,
    string? Locale = null,
    string? TimeZone = null,
    string? WebhookUrl = null,
    JsonElement? Properties = null);

internal static partial class RecipientRules
{
    [GeneratedRegex(@"^[^\s/?#]{1,200}$")]
    public static partial Regex UserId();

    public static bool IsTimeZone(string? zone) => zone is not null && DateTimeZoneProviders.Tzdb.GetZoneOrNull(zone) is not null;

    /// <summary>Shape rules for profile fields; unknown time zones are checked separately (a 422, not a 400).</summary>
    public static void AddProfileRules<T>(this AbstractValidator<T> validator, Func<T, RecipientProfileFields> fields)
    {
        validator.RuleFor(x => fields(x).Email).Must(Formats.IsEmail).When(x => fields(x).Email is not null)
            .WithMessage("email is not an email address.").OverridePropertyName("email");
        validator.RuleFor(x => fields(x).Phone).Must(Formats.IsE164Phone).When(x => fields(x).Phone is not null)
            .WithMessage("phone is written in E.164 form: + and the country code, then the number, digits only (e.g. +14155550123).")
            .OverridePropertyName("phone");
        validator.RuleFor(x => fields(x).Locale).Must(Locales.IsKnown).When(x => fields(x).Locale is not null)
            .WithMessage("locale is not a known locale (use BCP 47, e.g. en, pt-BR).").OverridePropertyName("locale");
        validator.RuleFor(x => fields(x).WebhookUrl).MaximumLength(2000)
            .Must(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
            .When(x => fields(x).WebhookUrl is not null)
            .WithMessage("webhookUrl must be an absolute http(s) URL.").OverridePropertyName("webhookUrl");
        validator.RuleFor(x => fields(x).Properties).Must(p => p is null || p.Value.ValueKind == JsonValueKind.Object)
            .WithMessage("properties must be a JSON object.").OverridePropertyName("properties");
    }

    public static string UnknownTimeZone(string zone) =>
        $"timeZone '{zone}' is not an IANA time zone; use a name such as America/New_York or Europe/Berlin.";
}
