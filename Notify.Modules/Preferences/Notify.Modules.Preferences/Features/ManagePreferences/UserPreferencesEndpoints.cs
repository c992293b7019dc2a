using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Preferences.Data;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Preferences.Features.Recipients;

namespace Notify.Modules.Preferences.Features.ManagePreferences;

public sealed record UserPreferencesRequest(string UserId);

public sealed record UpdateUserPreferencesRequest
{
    public string UserId { get; init; } = "";
    public IReadOnlyDictionary<string, PreferenceSetting>? Channels { get; init; }
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, PreferenceSetting>>? Categories { get; init; }
    public TimeWindow? QuietHours { get; init; }
    public TimeWindow? WorkHours { get; init; }
    public IReadOnlyDictionary<string, DigestSetting>? Digests { get; init; }

    internal UserPreferences Document => new(Channels, Categories, QuietHours, WorkHours, Digests);
}

internal sealed class UpdateUserPreferencesValidator : Validator<UpdateUserPreferencesRequest>
{
    public UpdateUserPreferencesValidator()
    {
        this.AddChannelRules(x => x.Channels, "channels");
        this.AddCategoryKeyRules(x => x.Categories, "categories");
        RuleForEach(x => x.Categories == null ? Enumerable.Empty<string>() : x.Categories.SelectMany(c => c.Value.Keys))
            .Must(c => Templates.Contracts.Channels.All.Contains(c))
            .WithMessage((_, c) => $"Unknown channel '{c}' in categories. Channels: {string.Join(", ", Templates.Contracts.Channels.All)}.")
            .OverridePropertyName("categories");
        this.AddWindowRule(x => x.QuietHours, "quietHours");
        this.AddWindowRule(x => x.WorkHours, "workHours");
        this.AddCategoryKeyRules(x => x.Digests, "digests");
        this.AddDigestRules(x => x.Digests ?? new Dictionary<string, DigestSetting>(), "digests");
    }
}

internal sealed class GetUserPreferencesEndpoint(PreferencesDbContext db, ITenantContext tenant) : Endpoint<UserPreferencesRequest, UserPreferences>
{
    public override void Configure()
    {
        Get("/v1/users/{userId}/preferences");
        Permissions(ApiScopes.PreferencesWrite, ApiScopes.NotificationsRead);
        Description(b => b.WithTags("Preferences"));
        Summary(s => s.Summary = "Get a recipient's preferences (channel switches, per-category settings, quiet and work hours, digests)");
    }

    public override async Task HandleAsync(UserPreferencesRequest req, CancellationToken ct)
    {
        var preferences = await db.Recipients.AsNoTracking().Where(r => r.TenantId == tenant.TenantId && r.UserId == req.UserId)
            .Select(r => r.Preferences).FirstOrDefaultAsync(ct);
        await (preferences is null ? Send.ResultAsync(GetRecipientEndpoint.RecipientNotFound(req.UserId)) : Send.OkAsync(preferences, ct));
    }
}

internal sealed class UpdateUserPreferencesEndpoint(RecipientStore store, ITenantContext tenant) : Endpoint<UpdateUserPreferencesRequest, UserPreferences>
{
    public override void Configure()
    {
        Put("/v1/users/{userId}/preferences");
        Permissions(ApiScopes.PreferencesWrite);
        Description(b => b.WithTags("Preferences"));
        Summary(s =>
        {
            s.Summary = "Replace a recipient's preferences";
            s.Description = "Each setting is inherit, allow or forbid; the most specific wins: the recipient's category × channel, then the recipient's channel switch, then the tenant default. transactional and system cannot be switched off (422).";
        });
    }

    public override async Task HandleAsync(UpdateUserPreferencesRequest req, CancellationToken ct)
    {
        var document = req.Document;
        var categories = (document.Categories ?? new Dictionary<string, IReadOnlyDictionary<string, PreferenceSetting>>())
            .Select(c => (c.Key, (IReadOnlyDictionary<string, PreferenceSetting>?)c.Value, (DigestSetting?)null))
            .Concat((document.Digests ?? new Dictionary<string, DigestSetting>()).Select(d => (d.Key, (IReadOnlyDictionary<string, PreferenceSetting>?)null, (DigestSetting?)d.Value)));
        if (PreferenceDocumentRules.MandatoryViolation(categories) is { } violation)
        {
            await Send.ResultAsync(ProblemResults.Unprocessable(violation));
            return;
        }

        var changed = await store.ChangeAsync(tenant.TenantId, req.UserId, create: false, r => r.Preferences = document, ct);
        await (changed is null ? Send.ResultAsync(GetRecipientEndpoint.RecipientNotFound(req.UserId)) : Send.OkAsync(document, ct));
    }
}
