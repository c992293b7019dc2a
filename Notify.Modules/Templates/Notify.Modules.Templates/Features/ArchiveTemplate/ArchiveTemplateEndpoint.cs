using FastEndpoints;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Templates.Caching;
using Notify.Modules.Templates.Data;

namespace Notify.Modules.Templates.Features.ArchiveTemplate;

public sealed record ArchiveTemplateRequest(string Key);

internal sealed class ArchiveTemplateEndpoint(TemplatesDbContext db, PublishedTemplateCache cache, ITenantContext tenant, TimeProvider clock)
    : Endpoint<ArchiveTemplateRequest>
{
    public override void Configure()
    {
        Delete("/v1/templates/{key}");
        Permissions(ApiScopes.TemplatesWrite);
        Description(b => b.WithTags("Templates"));
        Summary(s =>
        {
            s.Summary = "Archive a template";
            s.Description = "Archived templates cannot be sent; their versions stay for history.";
        });
    }

    public override async Task HandleAsync(ArchiveTemplateRequest req, CancellationToken ct)
    {
        var template = await db.FindAsync(tenant.TenantId, req.Key, ct);
        if (template is null)
        {
            await Send.ResultAsync(TemplateLookup.NotFound(req.Key));
            return;
        }

        if (template.ArchivedAt is null)
        {
            template.ArchivedAt = template.UpdatedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(ct);
            await cache.InvalidateAsync(tenant.TenantId, template.Key);
        }

        await Send.NoContentAsync(ct);
    }
}
