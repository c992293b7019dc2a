using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Data;
using Notify.Modules.Templates.Domain;
using Notify.Modules.Templates.Rendering;

namespace Notify.Modules.Templates.Features.CreateTemplate;

public sealed record CreateTemplateRequest(
    string Key,
    string Name,
    string? Description,
    string Category,
    IReadOnlyList<string> Channels,
    string? DefaultLocale,
    IReadOnlyList<TemplateVariable>? Variables,
    IReadOnlyList<LocaleVariant>? Variants,
    bool? Tracking = null);

internal sealed class CreateTemplateValidator : Validator<CreateTemplateRequest>
{
    public CreateTemplateValidator()
    {
        RuleFor(x => x.Key).NotEmpty().MaximumLength(100).Matches(ContentRules.Slug())
            .WithMessage("key is a lower-case slug: letters, digits, and - _ . between them (e.g. password-reset).");
        RuleFor(x => x.Name).NotEmpty().MaximumLength(200);
        RuleFor(x => x.Description).MaximumLength(2000);
        RuleFor(x => x.Category).NotEmpty().MaximumLength(100).Matches(ContentRules.Slug())
            .WithMessage("category is transactional, promotional, system, or your own slug.");
        RuleFor(x => x.Channels).NotEmpty().WithMessage("Give the template at least one channel.");
        RuleForEach(x => x.Channels).Must(c => Contracts.Channels.All.Contains(c, StringComparer.Ordinal))
            .WithMessage((_, c) => $"Unknown channel '{c}'. Channels: {string.Join(", ", Contracts.Channels.All)}.");
        RuleFor(x => x.DefaultLocale).Must(ContentRules.IsLocale).When(x => x.DefaultLocale is not null)
            .WithMessage("defaultLocale is not a known locale (use BCP 47, e.g. en, pt-BR).");
        this.AddContentRules(x => x.Variables, x => x.Variants);
    }
}

internal sealed class CreateTemplateEndpoint(TemplatesDbContext db, LiquidRenderer liquid, ITenantContext tenant, TimeProvider clock)
    : Endpoint<CreateTemplateRequest, TemplateResponse>
{
    public override void Configure()
    {
        Post("/v1/templates");
        Permissions(ApiScopes.TemplatesWrite);
        Description(b => b.WithTags("Templates"));
        Summary(s =>
        {
            s.Summary = "Create a template";
            s.Description = "Creates the template with an optional first draft (variables and per-locale content). Publish the draft to send with it. " +
                "tracking=false switches off email open and click tracking for this template (default on; the brand can switch it off for the whole tenant).";
        });
    }

    public override async Task HandleAsync(CreateTemplateRequest req, CancellationToken ct)
    {
        var channels = req.Channels.Distinct(StringComparer.Ordinal).ToArray();
        var variants = req.Variants ?? [];
        if (ContentRules.Check(channels, variants, liquid) is { } problem)
        {
            await Send.ResultAsync(problem);
            return;
        }

        if (await db.Templates.AnyAsync(t => t.TenantId == tenant.TenantId && t.Key == req.Key, ct))
        {
            await Send.ResultAsync(ProblemResults.Conflict($"A template with key '{req.Key}' already exists."));
            return;
        }

        var now = clock.GetUtcNow();
        var template = new Template
        {
            Id = Ids.New(clock),
            TenantId = tenant.TenantId,
            Key = req.Key,
            Name = req.Name.Trim(),
            Description = req.Description,
            Category = req.Category,
            Channels = channels,
            DefaultLocale = req.DefaultLocale ?? "en",
            Draft = new TemplateContent(req.Variables ?? [], variants, TrackingDisabled: req.Tracking == false),
            DraftUpdatedAt = variants.Count > 0 ? now : null,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Templates.Add(template);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            await Send.ResultAsync(ProblemResults.Conflict($"A template with key '{req.Key}' already exists."));
            return;
        }

        await Send.CreatedAtAsync<GetTemplate.GetTemplateEndpoint>(new { key = template.Key }, TemplateResponse.From(template), cancellation: ct);
    }
}
