using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Templates.Caching;
using Notify.Modules.Templates.Data;

namespace Notify.Modules.Templates.Features.RollbackTemplate;

public sealed record RollbackTemplateRequest(string Key, int Version);

internal sealed class RollbackTemplateEndpoint(TemplatesDbContext db, PublishedTemplateCache cache, ITenantContext tenant, TimeProvider clock)
    : Endpoint<RollbackTemplateRequest, TemplateVersionResponse>
{
    public override void Configure()
    {
        Post("/v1/templates/{key}/versions/{version}/publish");
        Permissions(ApiScopes.TemplatesWrite);
        Description(b => b.WithTags("Templates"));
        Summary(s =>
        {
            s.Summary = "Re-publish an earlier version (roll back)";
            s.Description = "Sends use that version from now on. The draft is left as it is.";
        });
    }

    public override async Task HandleAsync(RollbackTemplateRequest req, CancellationToken ct)
    {
        var (template, problem) = await db.FindEditableAsync(tenant.TenantId, req.Key, ct);
        if (template is null)
        {
            await Send.ResultAsync(problem!);
            return;
        }

        var version = await db.Versions.AsNoTracking().FirstOrDefaultAsync(v => v.TemplateId == template.Id && v.Version == req.Version, ct);
        if (version is null)
        {
            await Send.ResultAsync(ProblemResults.NotFound($"Template '{req.Key}' has no version {req.Version}."));
            return;
        }

        template.PublishedVersion = version.Version;
        template.PublishedAt = template.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        await cache.InvalidateAsync(tenant.TenantId, template.Key);
        await Send.OkAsync(new TemplateVersionResponse(version.Version, version.ContentHash, true, version.CreatedAt), ct);
    }
}
