using FastEndpoints;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Data;
using Notify.Modules.Templates.Domain;
using Notify.Modules.Templates.Rendering;

namespace Notify.Modules.Templates.Features.UpdateDraft;

public sealed record UpdateDraftRequest
{
    public string Key { get; init; } = "";
    public IReadOnlyList<TemplateVariable> Variables { get; init; } = [];
    public IReadOnlyList<LocaleVariant> Variants { get; init; } = [];

    /// <summary>Email open and click tracking for this template once published; omitted keeps the draft's setting.</summary>
    public bool? Tracking { get; init; }
}

internal sealed class UpdateDraftValidator : Validator<UpdateDraftRequest>
{
    public UpdateDraftValidator() => this.AddContentRules(x => x.Variables, x => x.Variants);
}

internal sealed class UpdateDraftEndpoint(TemplatesDbContext db, LiquidRenderer liquid, ITenantContext tenant, TimeProvider clock)
    : Endpoint<UpdateDraftRequest, TemplateResponse>
{
    public override void Configure()
    {
        Put("/v1/templates/{key}/draft");
        Permissions(ApiScopes.TemplatesWrite);
        Description(b => b.WithTags("Templates"));
        Summary(s =>
        {
            s.Summary = "Replace the draft";
            s.Description = "Variables and per-locale content in Liquid. A syntax error is a 422 naming locale, channel, field, line and column. What is sent does not change until the draft is published. " +
                "tracking=false switches off email open and click tracking for this template (omitted: unchanged).";
        });
    }

    public override async Task HandleAsync(UpdateDraftRequest req, CancellationToken ct)
    {
        var (template, problem) = await db.FindEditableAsync(tenant.TenantId, req.Key, ct);
        if (template is null)
        {
            await Send.ResultAsync(problem!);
            return;
        }

        if (ContentRules.Check(template.Channels, req.Variants, liquid) is { } invalid)
        {
            await Send.ResultAsync(invalid);
            return;
        }

        template.Draft = new TemplateContent(req.Variables, req.Variants, TrackingDisabled: req.Tracking is { } tracking ? !tracking : template.Draft.TrackingDisabled);
        template.DraftUpdatedAt = template.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        await Send.OkAsync(TemplateResponse.From(template), ct);
    }
}
