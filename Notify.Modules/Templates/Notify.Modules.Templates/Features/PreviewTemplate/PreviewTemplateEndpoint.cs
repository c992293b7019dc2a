using System.Text.Json;
using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Templates.Caching;
using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Data;
using Notify.Modules.Templates.Domain;
using Notify.Modules.Templates.Rendering;

namespace Notify.Modules.Templates.Features.PreviewTemplate;

public sealed record PreviewTemplateRequest
{
    public string Key { get; init; } = "";

    /// <summary>Variables; declared variables left out use their sample value.</summary>
    public JsonElement? Data { get; init; }

    public string? Locale { get; init; }

    /// <summary>IANA time zone for date filters; UTC when absent.</summary>
    public string? TimeZone { get; init; }

    /// <summary>A published version number; the draft when absent.</summary>
    public int? Version { get; init; }
}

public sealed record PreviewResponse(int? Version, string Locale, IReadOnlyDictionary<string, RenderedMessage> Messages, IReadOnlyList<string> Warnings);

internal sealed class PreviewTemplateValidator : Validator<PreviewTemplateRequest>
{
    public PreviewTemplateValidator()
    {
        RuleFor(x => x.Data).Must(d => d is null || d.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Null)
            .WithMessage("data must be a JSON object.");
        RuleFor(x => x.Locale).Must(ContentRules.IsLocale).When(x => x.Locale is not null)
            .WithMessage("locale is not a known locale (use BCP 47, e.g. en, pt-BR).");
        RuleFor(x => x.TimeZone).Must(tz => TimeZoneInfo.TryFindSystemTimeZoneById(tz!, out _)).When(x => x.TimeZone is not null)
            .WithMessage("timeZone is not a known IANA time zone (e.g. Europe/Lisbon).");
    }
}

internal sealed class PreviewTemplateEndpoint(TemplatesDbContext db, TemplateRendering rendering, LiquidRenderer liquid, ITenantContext tenant)
    : Endpoint<PreviewTemplateRequest, PreviewResponse>
{
    public override void Configure()
    {
        Post("/v1/templates/{key}/preview");
        Permissions(ApiScopes.NotificationsRead, ApiScopes.TemplatesWrite);
        Description(b => b.WithTags("Templates"));
        Summary(s =>
        {
            s.Summary = "Render the draft or a version with sample data";
            s.Description = "Every channel exactly as it would be sent (email wrapped in the layout). Missing required variables are a 422; variables used but not declared come back as warnings.";
        });
    }

    public override async Task HandleAsync(PreviewTemplateRequest req, CancellationToken ct)
    {
        var template = await db.FindAsync(tenant.TenantId, req.Key, ct);
        if (template is null)
        {
            await Send.ResultAsync(TemplateLookup.NotFound(req.Key));
            return;
        }

        var content = template.Draft;
        if (req.Version is { } number)
        {
            var version = await db.Versions.AsNoTracking().FirstOrDefaultAsync(v => v.TemplateId == template.Id && v.Version == number, ct);
            if (version is null)
            {
                await Send.ResultAsync(ProblemResults.NotFound($"Template '{req.Key}' has no version {number}."));
                return;
            }

            content = version.Content;
        }

        var data = WithSamples(content, req.Data is { ValueKind: JsonValueKind.Object } d ? RenderData.FromJson(d) : new Dictionary<string, object?>());
        var missing = content.MissingRequired(data);
        if (missing.Count > 0)
        {
            await Send.ResultAsync(ProblemResults.Unprocessable(
                $"Missing required variables: {string.Join(", ", missing)}.", new Dictionary<string, object?> { ["missingVariables"] = missing }));
            return;
        }

        var locale = req.Locale ?? template.DefaultLocale;
        var variant = content.VariantFor(locale, template.DefaultLocale);
        if (variant is null)
        {
            await Send.ResultAsync(ProblemResults.Unprocessable($"The {(req.Version is null ? "draft" : $"version {req.Version}")} has no content for '{locale}' nor the default locale '{template.DefaultLocale}'."));
            return;
        }

        var brand = PublishedTemplateCache.ToSnapshot(await db.Brands.AsNoTracking().FirstOrDefaultAsync(b => b.TenantId == tenant.TenantId, ct));
        // Transactional mail carries no unsubscribe link; everything else does, so the preview shows where it goes.
        var unsubscribeUrl = template.Category == Categories.Transactional ? null : $"{HttpContext.Request.Scheme}://{HttpContext.Request.Host}/v1/unsubscribe/preview";
        var messages = new Dictionary<string, RenderedMessage>();
        try
        {
            foreach (var channel in template.Channels.Where(variant.Content.Has))
            {
                messages[channel] = await rendering.RenderAsync(content, template.DefaultLocale, channel, locale, data, req.TimeZone ?? "UTC", brand, unsubscribeUrl);
            }
        }
        catch (TemplateRenderException ex)
        {
            await Send.ResultAsync(ProblemResults.Unprocessable($"The template could not be rendered with this data: {ex.Message}"));
            return;
        }

        var declared = content.Variables.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        var warnings = liquid.ReferencedVariables(variant.Content).Where(v => !declared.Contains(v)).Order(StringComparer.Ordinal)
            .Select(v => $"Variable '{v}' is used but not declared.").ToList();
        await Send.OkAsync(new PreviewResponse(req.Version, variant.Locale, messages, warnings), ct);
    }

    private static Dictionary<string, object?> WithSamples(TemplateContent content, IReadOnlyDictionary<string, object?> data)
    {
        var merged = new Dictionary<string, object?>(data, StringComparer.Ordinal);
        foreach (var variable in content.Variables)
        {
            if (!merged.ContainsKey(variable.Name) && variable.Sample is { } sample)
            {
                merged[variable.Name] = RenderData.FromJsonValue(sample);
            }
        }

        return merged;
    }
}
