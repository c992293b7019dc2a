using FastEndpoints;
using FluentValidation;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Delivery.Inbox;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Delivery.Features.SubscriberTokens;

/// <param name="UserId">The recipient (route).</param>
/// <param name="ExpiresInSeconds">Lifetime of the token; 60 s to 30 days, 24 hours when omitted.</param>
public sealed record IssueSubscriberTokenRequest(string UserId, int? ExpiresInSeconds);

/// <param name="Token">Pass to the inbox endpoints as 'Authorization: Bearer &lt;token&gt;' or '?token='.</param>
/// <param name="ExpiresAt">When the token stops working.</param>
public sealed record SubscriberTokenResponse(string Token, DateTimeOffset ExpiresAt);

internal sealed class IssueSubscriberTokenValidator : Validator<IssueSubscriberTokenRequest>
{
    public IssueSubscriberTokenValidator()
    {
        RuleFor(x => x.ExpiresInSeconds).InclusiveBetween(InboxTokens.MinSeconds, InboxTokens.MaxSeconds)
            .When(x => x.ExpiresInSeconds is not null)
            .WithMessage($"expiresInSeconds is between {InboxTokens.MinSeconds} and {InboxTokens.MaxSeconds} (30 days).");
    }
}

internal sealed class IssueSubscriberTokenEndpoint(SignedTokens tokens, IRecipientPreferences preferences, ITenantContext tenant, TimeProvider clock)
    : Endpoint<IssueSubscriberTokenRequest, SubscriberTokenResponse>
{
    public override void Configure()
    {
        Post("/v1/users/{userId}/subscriber-token");
        // The backend that sends to a user is the one that opens their inbox in its frontend.
        Permissions(ApiScopes.NotificationsSend);
        // The body is optional: a POST without one (and so without a Content-Type) must route here too, not end in a 415.
        Description(b => b.WithTags("Inbox").Accepts<IssueSubscriberTokenRequest>("application/json", "*/*"));
        Summary(s =>
        {
            s.Summary = "Issue a subscriber token that opens one recipient's in-app inbox";
            s.Description = "Call from your backend and hand the token to the recipient's browser or app, which uses it for GET /v1/inbox, " +
                "GET /v1/inbox/stream and the mark-read endpoints. The body is optional: { \"expiresInSeconds\": 3600 }.";
        });
    }

    public override async Task HandleAsync(IssueSubscriberTokenRequest req, CancellationToken ct)
    {
        // The plan is served from the preferences cache; null means no such recipient in this tenant.
        var plan = await preferences.PlanAsync(
            new PlanRequest(tenant.TenantId, req.UserId, MandatoryCategories.Transactional, NotificationPriority.Normal, [Channels.InApp]), ct);
        if (plan is null)
        {
            await Send.ResultAsync(ProblemResults.NotFound($"No recipient with user id '{req.UserId}'."));
            return;
        }

        var lifetime = req.ExpiresInSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : InboxTokens.DefaultLifetime;
        var token = tokens.Issue(InboxTokens.Purpose, new SubscriberTokenPayload(tenant.TenantId, req.UserId), lifetime);
        // The token carries whole seconds; report the same instant.
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(clock.GetUtcNow().Add(lifetime).ToUnixTimeSeconds());
        await Send.OkAsync(new SubscriberTokenResponse(token, expiresAt), ct);
    }
}
