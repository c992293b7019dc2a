using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Templates.Domain;

/// <summary>
/// What a draft or a version holds: declared variables, per-locale content, and whether email opens and clicks are
/// tracked. Tracking is part of the content because it changes what is sent (links and a pixel): like the rest, a
/// change waits for publishing and a rollback restores it.
/// </summary>
/// <param name="TrackingDisabled">
/// Stored only when true, so content saved before the setting existed keeps its hash (publishing it again is still a no-op).
/// </param>
internal sealed record TemplateContent(
    IReadOnlyList<TemplateVariable> Variables,
    IReadOnlyList<LocaleVariant> Variants,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool TrackingDisabled = false)
{
    public static readonly TemplateContent Empty = new([], []);

    /// <summary>Identifies the content (not the template), so identical drafts and versions compare equal.</summary>
    public string Hash() =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(this, JsonSerializerOptions.Web))));

    /// <summary>The variant for <paramref name="locale"/>: exact, then its language (pt-BR → pt), then the default.</summary>
    public LocaleVariant? VariantFor(string locale, string defaultLocale)
    {
        var exact = Variants.FirstOrDefault(v => string.Equals(v.Locale, locale, StringComparison.OrdinalIgnoreCase));
        if (exact is not null)
        {
            return exact;
        }

        var dash = locale.IndexOf('-', StringComparison.Ordinal);
        var language = dash > 0 ? locale[..dash] : null;
        return (language is null ? null : Variants.FirstOrDefault(v => string.Equals(v.Locale, language, StringComparison.OrdinalIgnoreCase)))
            ?? Variants.FirstOrDefault(v => string.Equals(v.Locale, defaultLocale, StringComparison.OrdinalIgnoreCase));
    }

    public IReadOnlyList<string> MissingRequired(IReadOnlyDictionary<string, object?> data) =>
        Variables.Where(v => v.Required && (!data.TryGetValue(v.Name, out var value) || value is null)).Select(v => v.Name).ToList();
}

internal sealed class Template
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public required string Key { get; init; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public required string Category { get; set; }
    public required string[] Channels { get; set; }
    public required string DefaultLocale { get; set; }

    /// <summary>Shipped with the product and seeded per tenant; editable like any other.</summary>
    public bool IsSystem { get; init; }

    public TemplateContent Draft { get; set; } = TemplateContent.Empty;
    public DateTimeOffset? DraftUpdatedAt { get; set; }
    public int? PublishedVersion { get; set; }
    public DateTimeOffset? PublishedAt { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? ArchivedAt { get; set; }
    public long UsageCount { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
}

/// <summary>An immutable published snapshot; publishing makes one, rolling back re-publishes one.</summary>
internal sealed class TemplateVersion
{
    public Guid Id { get; init; }
    public Guid TemplateId { get; init; }
    public Guid TenantId { get; init; }
    public int Version { get; init; }
    public required TemplateContent Content { get; init; }
    public required string ContentHash { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>A tenant's brand, used by the email layout.</summary>
internal sealed class Brand
{
    public const string DefaultColor = "#2563EB";

    public Guid TenantId { get; init; }
    public required string Name { get; set; }
    public string? LogoUrl { get; set; }
    public string PrimaryColor { get; set; } = DefaultColor;
    public string? PostalAddress { get; set; }

    /// <summary>The tenant-wide switch for email open and click tracking; a template can only switch it off further.</summary>
    public bool EmailTracking { get; set; } = true;
    public DateTimeOffset UpdatedAt { get; set; }
}
