using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Domain;

namespace Notify.Modules.Templates.Features;

/// <summary>The unpublished working copy of a template; <c>tracking</c>: whether its emails' opens and clicks are tracked once published.</summary>
public sealed record DraftResponse(IReadOnlyList<TemplateVariable> Variables, IReadOnlyList<LocaleVariant> Variants, DateTimeOffset? UpdatedAt, bool Tracking);

public sealed record TemplateResponse(
    string Key, string Name, string? Description, string Category, IReadOnlyList<string> Channels, string DefaultLocale, bool IsSystem,
    int? PublishedVersion, DateTimeOffset? PublishedAt, DraftResponse Draft, long UsageCount, DateTimeOffset? LastUsedAt,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ArchivedAt)
{
    internal static TemplateResponse From(Template t) => new(
        t.Key, t.Name, t.Description, t.Category, t.Channels, t.DefaultLocale, t.IsSystem, t.PublishedVersion, t.PublishedAt,
        new DraftResponse(t.Draft.Variables, t.Draft.Variants, t.DraftUpdatedAt, !t.Draft.TrackingDisabled), t.UsageCount, t.LastUsedAt, t.CreatedAt, t.UpdatedAt, t.ArchivedAt);
}

public sealed record TemplateVersionResponse(int Version, string ContentHash, bool IsPublished, DateTimeOffset CreatedAt);

/// <summary>One problem in a template's content, located precisely enough to fix it.</summary>
public sealed record ContentError(string Locale, string Channel, string Field, int? Line, int? Column, string Message);
