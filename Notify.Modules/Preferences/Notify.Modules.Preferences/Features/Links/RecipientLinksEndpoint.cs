using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Preferences.Data;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Preferences.Features.Recipients;

namespace Notify.Modules.Preferences.Features.Links;

/// <param name="Category">The category the unsubscribe link is for; defaults to <c>marketing</c>.</param>
public sealed record CreateRecipientLinksRequest(string UserId, string? Category);

public sealed record RecipientLinksResponse(Uri PreferenceCenterUrl, DateTimeOffset PreferenceCenterExpiresAt, Uri UnsubscribeUrl, DateTimeOffset UnsubscribeExpiresAt);

internal sealed class CreateRecipientLinksValidator : Validator<CreateRecipientLinksRequest>
{
    public CreateRecipientLinksValidator() =>
        RuleFor(x => x.Category).Must(Formats.IsCategory).When(x => x.Category is not null)
            .WithMessage("category is a lower-case slug (letters, digits, - _ .), e.g. marketing.");
}

internal sealed class CreateRecipientLinksEndpoint(PreferencesDbContext db, RecipientTokens tokens, ITenantContext tenant)
    : Endpoint<CreateRecipientLinksRequest, RecipientLinksResponse>
{
    public override void Configure()
    {
        Post("/v1/users/{userId}/links");
        Permissions(ApiScopes.PreferencesWrite);
        Description(b => b.WithTags("Preferences"));
        Summary(s =>
        {
            s.Summary = "Signed links to a recipient's preference center and unsubscribe page";
            s.Description = "For your own app or emails: the recipient opens them without an API key. They expire (preference center 14 days, unsubscribe 60 days).";
        });
    }

    public override async Task HandleAsync(CreateRecipientLinksRequest req, CancellationToken ct)
    {
        if (!await db.Recipients.AnyAsync(r => r.TenantId == tenant.TenantId && r.UserId == req.UserId, ct))
        {
            await Send.ResultAsync(GetRecipientEndpoint.RecipientNotFound(req.UserId));
            return;
        }

        var links = tokens.LinksFor(tenant.TenantId, req.UserId, req.Category ?? "marketing");
        await Send.OkAsync(new RecipientLinksResponse(links.PreferenceCenter, links.PreferenceCenterExpiresAt, links.Unsubscribe, links.UnsubscribeExpiresAt), ct);
    }
}
