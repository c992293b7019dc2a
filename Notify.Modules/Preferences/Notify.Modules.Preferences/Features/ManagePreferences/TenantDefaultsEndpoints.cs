using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Preferences.Data;
using Notify.Modules.Preferences.Domain;

namespace Notify.Modules.Preferences.Features.ManagePreferences;

public sealed record UpdateTenantDefaultsRequest
{
    public IReadOnlyDictionary<string, CategoryDefaults>? Categories { get; init; }
    public FrequencyCaps? FrequencyCaps { get; init; }

    internal TenantDefaults Document => new(Categories, FrequencyCaps);
}

internal sealed class UpdateTenantDefaultsValidator : Validator<UpdateTenantDefaultsRequest>
{
    public UpdateTenantDefaultsValidator()
    {
        this.AddCategoryKeyRules(x => x.Categories, "categories");
        RuleForEach(x => ChannelsIn(x))
            .Must(c => Templates.Contracts.Channels.All.Contains(c))
            .WithMessage((_, c) => $"Unknown channel '{c}' in categories. Channels: {string.Join(", ", Templates.Contracts.Channels.All)}.")
            .OverridePropertyName("categories");
        RuleForEach(x => x.Categories == null ? Enumerable.Empty<string?>() : x.Categories.Values.Select(c => c.Label))
            .MaximumLength(100).OverridePropertyName("categories");
        this.AddDigestRules(
            x => (x.Categories ?? new Dictionary<string, CategoryDefaults>()).Where(c => c.Value.Digest is not null)
                .Select(c => KeyValuePair.Create(c.Key, c.Value.Digest!)),
            "categories");
        this.AddChannelRules(x => x.FrequencyCaps?.Channels?.ToDictionary(c => c.Key, _ => PreferenceSetting.Inherit), "frequencyCaps.channels");
        RuleForEach(x => CapsIn(x))
            .Must(l => l.PerHour is null or > 0 && l.PerDay is null or > 0)
            .WithMessage("Frequency caps are positive numbers (leave a limit out for none).")
            .OverridePropertyName("frequencyCaps");
    }

    private static IEnumerable<string> ChannelsIn(UpdateTenantDefaultsRequest request) =>
        (request.Categories?.Values ?? Enumerable.Empty<CategoryDefaults>()).SelectMany(c => c.Channels?.Keys ?? Enumerable.Empty<string>());

    private static IEnumerable<CapLimit> CapsIn(UpdateTenantDefaultsRequest request) =>
        (request.FrequencyCaps?.Channels?.Values ?? Enumerable.Empty<CapLimit>()).Append(request.FrequencyCaps?.Overall ?? new CapLimit());
}

internal sealed class GetTenantDefaultsEndpoint(PreferencesDbContext db, ITenantContext tenant) : EndpointWithoutRequest<TenantDefaults>
{
    public override void Configure()
    {
        Get("/v1/preferences/defaults");
        Permissions(ApiScopes.PreferencesWrite, ApiScopes.NotificationsRead);
        Description(b => b.WithTags("Preferences"));
        Summary(s => s.Summary = "Get the tenant's default preferences (categories with labels, channel defaults and digests; frequency caps)");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var row = await db.TenantDefaults.AsNoTracking().FirstOrDefaultAsync(d => d.TenantId == tenant.TenantId, ct);
        await Send.OkAsync(row?.Document ?? TenantDefaults.Empty, ct);
    }
}

internal sealed class UpdateTenantDefaultsEndpoint(RecipientStore store, ITenantContext tenant)
    : Endpoint<UpdateTenantDefaultsRequest, TenantDefaults>
{

    public override void Configure()
    {
        Put("/v1/preferences/defaults");
        Permissions(ApiScopes.PreferencesWrite);
        Description(b => b.WithTags("Preferences"));
        Summary(s =>
        {
            s.Summary = "Replace the tenant's default preferences";
            s.Description = "The bottom preference layer: per category a label for the preference center, channel defaults (inherit, allow or forbid) and a digest; and frequency caps. transactional and system cannot be switched off (422).";
        });
    }

    public override async Task HandleAsync(UpdateTenantDefaultsRequest req, CancellationToken ct)
    {
        var document = req.Document;
        var violation = PreferenceDocumentRules.MandatoryViolation((document.Categories ?? new Dictionary<string, CategoryDefaults>())
            .Select(c => (c.Key, c.Value.Channels, c.Value.Digest)));
        if (violation is not null)
        {
            await Send.ResultAsync(ProblemResults.Unprocessable(violation));
            return;
        }

        await store.ReplaceDefaultsAsync(tenant.TenantId, document, ct);
        await Send.OkAsync(document, ct);
    }
}
