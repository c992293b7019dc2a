using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Templates.Data;

namespace Notify.Modules.Templates.Features.ListVersions;

public sealed record ListTemplateVersionsRequest(string Key);

public sealed record TemplateVersionsResponse(IReadOnlyList<TemplateVersionResponse> Items);

internal sealed class ListTemplateVersionsEndpoint(TemplatesDbContext db, ITenantContext tenant) : Endpoint<ListTemplateVersionsRequest, TemplateVersionsResponse>
{
    public override void Configure()
    {
        Get("/v1/templates/{key}/versions");
        Permissions(ApiScopes.NotificationsRead, ApiScopes.TemplatesWrite);
        Description(b => b.WithTags("Templates"));
        Summary(s => s.Summary = "List a template's published versions, newest first");
    }

    public override async Task HandleAsync(ListTemplateVersionsRequest req, CancellationToken ct)
    {
        var template = await db.FindAsync(tenant.TenantId, req.Key, ct);
        if (template is null)
        {
            await Send.ResultAsync(TemplateLookup.NotFound(req.Key));
            return;
        }

        var versions = await db.Versions.AsNoTracking().Where(v => v.TemplateId == template.Id).OrderByDescending(v => v.Version)
            .Select(v => new { v.Version, v.ContentHash, v.CreatedAt }).ToListAsync(ct);
        await Send.OkAsync(new TemplateVersionsResponse(
            versions.Select(v => new TemplateVersionResponse(v.Version, v.ContentHash, v.Version == template.PublishedVersion, v.CreatedAt)).ToList()), ct);
    }
}
