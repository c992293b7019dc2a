using System.Text.RegularExpressions;
using FluentValidation;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Rendering;

namespace Notify.Modules.Templates.Features;

/// <summary>Checks shared by creating a template and saving its draft.</summary>
internal static partial class ContentRules
{
    [GeneratedRegex("^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")]
    public static partial Regex Slug();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();

    public static bool IsLocale(string? locale) => Locales.IsKnown(locale);

    /// <summary>Shape rules for declared variables and locale variants.</summary>
    public static void AddContentRules<T>(this AbstractValidator<T> validator, Func<T, IReadOnlyList<TemplateVariable>?> variables, Func<T, IReadOnlyList<LocaleVariant>?> variants)
    {
        validator.RuleForEach(x => variables(x)).ChildRules(v =>
            v.RuleFor(x => x.Name).Must(n => n is not null && Identifier().IsMatch(n))
                .WithMessage("A variable name starts with a letter or _ and contains only letters, digits and _."))
            .OverridePropertyName("variables");
        validator.RuleFor(x => variables(x)).Must(v => v is null || v.Select(x => x.Name).Distinct(StringComparer.Ordinal).Count() == v.Count)
            .WithMessage("Each variable may be declared once.").OverridePropertyName("variables");
        validator.RuleForEach(x => variants(x)).ChildRules(v =>
        {
            v.RuleFor(x => x.Locale).Must(IsLocale).WithMessage((_, l) => $"'{l}' is not a known locale (use BCP 47, e.g. en, pt-BR).");
            v.RuleFor(x => x.Content).NotNull();
        }).OverridePropertyName("variants");
        validator.RuleFor(x => variants(x)).Must(v => v is null || v.Select(x => x.Locale.ToUpperInvariant()).Distinct().Count() == v.Count)
            .WithMessage("Each locale may have one variant.").OverridePropertyName("variants");
    }

    /// <summary>
    /// Rules that need the template: content only for its channels, required fields present, Liquid that
    /// parses. Returns a 422 result listing every problem, or null when the content is fine.
    /// </summary>
    public static IResult? Check(IReadOnlyList<string> channels, IReadOnlyList<LocaleVariant> variants, LiquidRenderer liquid)
    {
        var errors = new List<ContentError>();
        foreach (var variant in variants)
        {
            var c = variant.Content;
            void Require(string channel, bool present, string field, string? value)
            {
                if (!present)
                {
                    return;
                }

                if (!channels.Contains(channel, StringComparer.Ordinal))
                {
                    errors.Add(new ContentError(variant.Locale, channel, field, null, null, $"The template does not declare the '{channel}' channel."));
                }
                else if (string.IsNullOrWhiteSpace(value))
                {
                    errors.Add(new ContentError(variant.Locale, channel, field, null, null, $"{field} must not be empty."));
                }
            }

            Require(Channels.Email, c.Email is not null, "subject", c.Email?.Subject);
            Require(Channels.Email, c.Email is not null, "html", c.Email?.Html);
            Require(Channels.Sms, c.Sms is not null, "text", c.Sms?.Text);
            Require(Channels.Push, c.Push is not null, "title", c.Push?.Title);
            Require(Channels.Push, c.Push is not null, "body", c.Push?.Body);
            Require(Channels.InApp, c.InApp is not null, "title", c.InApp?.Title);
            Require(Channels.InApp, c.InApp is not null, "body", c.InApp?.Body);
            Require(Channels.Webhook, c.Webhook is not null, "body", c.Webhook?.Body);

            errors.AddRange(liquid.Validate(c).Select(e => new ContentError(variant.Locale, e.Channel, e.Field, e.Line, e.Column, e.Message)));
        }

        return errors.Count == 0
            ? null
            : ProblemResults.Unprocessable(
                $"The template content has {errors.Count} problem(s): {string.Join("; ", errors.Select(Describe))}",
                new Dictionary<string, object?> { ["errors"] = errors });

        static string Describe(ContentError e) =>
            $"{e.Locale} {e.Channel}.{e.Field}{(e.Line is null ? "" : $" line {e.Line}, column {e.Column}")}: {e.Message}";
    }
}
