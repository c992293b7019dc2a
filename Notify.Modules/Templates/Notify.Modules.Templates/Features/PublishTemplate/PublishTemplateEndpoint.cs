using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Templates.Caching;
using Notify.Modules.Templates.Data;
using Notify.Modules.Templates.Domain;

namespace Notify.Modules.Templates.Features.PublishTemplate;

public sealed record PublishTemplateRequest(string Key);

internal sealed class PublishTemplateEndpoint(TemplatesDbContext db, PublishedTemplateCache cache, ITenantContext tenant, TimeProvider clock)
    : Endpoint<PublishTemplateRequest, TemplateVersionResponse>
{
    public override void Configure()
    {
        Post("/v1/templates/{key}/publish");
        Permissions(ApiScopes.TemplatesWrite);
        Description(b => b.WithTags("Templates"));
        Summary(s =>
        {
            s.Summary = "Publish the draft as a new version";
            s.Description = "The new version is what sends use from now on; earlier versions stay and can be re-published.";
        });
    }

    public override async Task HandleAsync(PublishTemplateRequest req, CancellationToken ct)
    {
        var (template, problem) = await db.FindEditableAsync(tenant.TenantId, req.Key, ct);
        if (template is null)
        {
            await Send.ResultAsync(problem!);
            return;
        }

        if (template.Draft.Variants.Count == 0)
        {
            await Send.ResultAsync(ProblemResults.Unprocessable("The draft has no content: PUT /v1/templates/{key}/draft first."));
            return;
        }

        var hash = template.Draft.Hash();
        var latest = await db.Versions.Where(v => v.TemplateId == template.Id).OrderByDescending(v => v.Version).FirstOrDefaultAsync(ct);
        if (latest is not null && latest.ContentHash == hash && template.PublishedVersion == latest.Version)
        {
            await Send.ResultAsync(ProblemResults.Conflict($"The draft is identical to the published version {latest.Version}."));
            return;
        }

        var now = clock.GetUtcNow();
        var version = new TemplateVersion
        {
            Id = Ids.New(clock),
            TemplateId = template.Id,
            TenantId = template.TenantId,
            Version = (latest?.Version ?? 0) + 1,
            Content = template.Draft,
            ContentHash = hash,
            CreatedAt = now,
        };
        db.Versions.Add(version);
        template.PublishedVersion = version.Version;
        template.PublishedAt = template.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        await cache.InvalidateAsync(tenant.TenantId, template.Key);

        await Send.OkAsync(new TemplateVersionResponse(version.Version, hash, true, now), ct);
    }
}
