using FastEndpoints;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Templates.Data;

namespace Notify.Modules.Templates.Features.GetTemplate;

public sealed record GetTemplateRequest(string Key);

internal sealed class GetTemplateEndpoint(TemplatesDbContext db, ITenantContext tenant) : Endpoint<GetTemplateRequest, TemplateResponse>
{
    public override void Configure()
    {
        Get("/v1/templates/{key}");
        Permissions(ApiScopes.NotificationsRead, ApiScopes.TemplatesWrite);
        Description(b => b.WithTags("Templates"));
        Summary(s => s.Summary = "Get a template with its draft and published version number");
    }

    public override async Task HandleAsync(GetTemplateRequest req, CancellationToken ct)
    {
        var template = await db.FindAsync(tenant.TenantId, req.Key, ct);
        if (template is null)
        {
            await Send.ResultAsync(TemplateLookup.NotFound(req.Key));
            return;
        }

        await Send.OkAsync(TemplateResponse.From(template), ct);
    }
}
