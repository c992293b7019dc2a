using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Preferences.Data;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Preferences.Features.Recipients;

namespace Notify.Modules.Preferences.Features.Unsubscribes;

/// <param name="Reason"><c>user_request</c>, <c>bounce_limit</c>, <c>complaint</c> or <c>admin_action</c> (the default).</param>
/// <param name="ExpiresAt">For a temporary unsubscribe: when it ends.</param>
public sealed record AddUnsubscribeRequest(string UserId, string Category, string? Reason, string? Feedback, DateTimeOffset? ExpiresAt);

public sealed record UnsubscribeResponse(string Category, string Reason, string? Feedback, DateTimeOffset? ExpiresAt, DateTimeOffset CreatedAt);

public sealed record RemoveUnsubscribeRequest(string UserId, string Category);

internal sealed class AddUnsubscribeValidator : Validator<AddUnsubscribeRequest>
{
    public AddUnsubscribeValidator()
    {
        RuleFor(x => x.Category).Must(Formats.IsCategory)
            .WithMessage("category is a lower-case slug (letters, digits, - _ .), e.g. marketing.");
        RuleFor(x => x.Reason).Must(r => r is null || UnsubscribeReasons.All.Contains(r))
            .WithMessage($"reason is one of {string.Join(", ", UnsubscribeReasons.All)}.");
        RuleFor(x => x.Feedback).MaximumLength(2000);
    }
}

internal sealed class ListUnsubscribesEndpoint(PreferencesDbContext db, ITenantContext tenant) : Endpoint<UserRequest, IReadOnlyList<UnsubscribeResponse>>
{
    public override void Configure()
    {
        Get("/v1/users/{userId}/unsubscribes");
        Permissions(ApiScopes.PreferencesWrite, ApiScopes.NotificationsRead);
        Description(b => b.WithTags("Preferences"));
        Summary(s => s.Summary = "List the categories a recipient unsubscribed from (expired temporary ones included, with their expiry)");
    }

    public override async Task HandleAsync(UserRequest req, CancellationToken ct)
    {
        var recipient = await db.Recipients.AsNoTracking().Include(r => r.Unsubscribes)
            .FirstOrDefaultAsync(r => r.TenantId == tenant.TenantId && r.UserId == req.UserId, ct);
        await (recipient is null
            ? Send.ResultAsync(GetRecipientEndpoint.RecipientNotFound(req.UserId))
            : Send.OkAsync(recipient.Unsubscribes.OrderBy(u => u.Category, StringComparer.Ordinal).Select(UnsubscribeFlow.ToResponse).ToList(), ct));
    }
}

internal sealed class AddUnsubscribeEndpoint(UnsubscribeFlow flow, ITenantContext tenant, TimeProvider clock) : Endpoint<AddUnsubscribeRequest, UnsubscribeResponse>
{
    public override void Configure()
    {
        Post("/v1/users/{userId}/unsubscribes");
        Permissions(ApiScopes.PreferencesWrite);
        Description(b => b.WithTags("Preferences"));
        Summary(s => s.Summary = "Unsubscribe a recipient from a category (optionally until a time); transactional and system cannot be unsubscribed from (422)");
    }

    public override async Task HandleAsync(AddUnsubscribeRequest req, CancellationToken ct)
    {
        if (req.ExpiresAt is { } expires && expires <= clock.GetUtcNow())
        {
            await Send.ResultAsync(ProblemResults.UnprocessableField("expiresAt", "expiresAt is in the past; leave it out for an unsubscribe without end."));
            return;
        }

        var result = await flow.UnsubscribeAsync(tenant.TenantId, req.UserId, req.Category, req.Reason ?? UnsubscribeReasons.AdminAction, req.Feedback, req.ExpiresAt, ct);
        await Send.ResultAsync(result switch
        {
            UnsubscribeOutcome.Done done => TypedResults.Created($"/v1/users/{Uri.EscapeDataString(req.UserId)}/unsubscribes", UnsubscribeFlow.ToResponse(done.Unsubscribe)),
            UnsubscribeOutcome.Mandatory => ProblemResults.Unprocessable(UnsubscribeFlow.MandatoryMessage(req.Category)),
            _ => GetRecipientEndpoint.RecipientNotFound(req.UserId),
        });
    }
}

internal sealed class RemoveUnsubscribeEndpoint(RecipientStore store, ITenantContext tenant) : Endpoint<RemoveUnsubscribeRequest>
{
    public override void Configure()
    {
        Delete("/v1/users/{userId}/unsubscribes/{category}");
        Permissions(ApiScopes.PreferencesWrite);
        Description(b => b.WithTags("Preferences"));
        Summary(s => s.Summary = "Resubscribe a recipient to a category");
    }

    public override async Task HandleAsync(RemoveUnsubscribeRequest req, CancellationToken ct)
    {
        var removed = false;
        var changed = await store.ChangeAsync(tenant.TenantId, req.UserId, create: false,
            r => removed = r.Unsubscribes.RemoveAll(u => u.Category == req.Category) > 0, ct);
        await (changed is null ? Send.ResultAsync(GetRecipientEndpoint.RecipientNotFound(req.UserId))
            : !removed ? Send.ResultAsync(ProblemResults.NotFound($"User '{req.UserId}' is not unsubscribed from '{req.Category}'."))
            : Send.NoContentAsync(ct));
    }
}
