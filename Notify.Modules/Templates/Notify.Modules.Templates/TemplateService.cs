using Notify.Modules.Templates.Caching;
using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Rendering;

namespace Notify.Modules.Templates;

/// <summary>The <see cref="ITemplates"/> contract: published versions from the cache, rendered for one channel.</summary>
internal sealed class TemplateService(PublishedTemplateCache cache, TemplateRendering rendering, UsageRecorder usage) : ITemplates
{
    public async Task<PublishedTemplate?> FindPublishedAsync(Guid tenantId, string key, CancellationToken cancellationToken)
    {
        var snapshot = await cache.GetAsync(tenantId, key, cancellationToken);
        return snapshot is null
            ? null
            : new PublishedTemplate(snapshot.Key, snapshot.Category, snapshot.Channels, snapshot.Version,
                snapshot.Content.Variables.Where(v => v.Required).Select(v => v.Name).ToList());
    }

    public async Task<RenderedMessage> RenderAsync(RenderRequest request, CancellationToken cancellationToken)
    {
        var snapshot = await cache.GetAsync(request.TenantId, request.TemplateKey, cancellationToken)
            ?? throw new TemplateRenderException($"Template '{request.TemplateKey}' does not exist, is archived, or has no published version.");
        if (!snapshot.Channels.Contains(request.Channel, StringComparer.Ordinal))
        {
            throw new TemplateRenderException($"Template '{request.TemplateKey}' has no '{request.Channel}' content.");
        }

        var data = RenderData.FromJson(request.Data);
        var missing = snapshot.Content.MissingRequired(data);
        if (missing.Count > 0)
        {
            throw new TemplateRenderException($"Missing required variables: {string.Join(", ", missing)}.", missing);
        }

        var message = await rendering.RenderAsync(
            snapshot.Content, snapshot.DefaultLocale, request.Channel, request.Locale, data, request.TimeZone, snapshot.Brand, request.UnsubscribeUrl);
        usage.Record(snapshot.TemplateId);
        return request.Channel == Channels.Email
            ? message with { Tracking = !snapshot.Content.TrackingDisabled && snapshot.Brand.EmailTracking }
            : message;
    }
}
