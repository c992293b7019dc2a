using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Webhooks.Contracts;
using Notify.Modules.Webhooks.Data;
using Notify.Modules.Webhooks.Domain;

namespace Notify.Modules.Webhooks.Features.ReplayWebhook;

public sealed record ReplayWebhookRequest
{
    public Guid Id { get; init; }

    /// <summary>Replay events that happened at or after this time (ISO 8601).</summary>
    [QueryParam] public DateTimeOffset? Since { get; init; }
}

/// <summary>How many events were queued; <c>More</c> when the limit cut the replay short (replay again from a later <c>since</c>).</summary>
public sealed record ReplayWebhookResponse(int Queued, bool More);

internal sealed class ReplayWebhookValidator : Validator<ReplayWebhookRequest>
{
    public ReplayWebhookValidator() =>
        RuleFor(x => x.Since).NotNull().WithMessage("Give since, an ISO 8601 time: events from then on are sent again, e.g. ?since=2025-01-31T00:00:00Z.");
}

internal sealed class ReplayWebhookEndpoint(WebhooksDbContext db, ITenantContext tenant, TimeProvider clock)
    : Endpoint<ReplayWebhookRequest, ReplayWebhookResponse>
{
    /// <summary>Events queued by one call at most, so a replay never becomes one giant transaction.</summary>
    public const int MaxEvents = 10_000;

    public override void Configure()
    {
        Post("/v1/webhooks/{id}/replay");
        Permissions(ApiScopes.WebhooksManage);
        Description(b => b.WithTags("Webhooks"));
        Summary(s =>
        {
            s.Summary = "Send again what an endpoint missed since a time";
            s.Description = "Queues every event since `since` that the endpoint's filter accepts and that it has not received "
                + "(failed, or sent while it was disabled), oldest first, up to 10,000 per call.";
        });
    }

    public override async Task HandleAsync(ReplayWebhookRequest req, CancellationToken ct)
    {
        var (endpoint, problem) = await db.FindEnabledAsync(tenant.TenantId, req.Id, ct);
        if (endpoint is null)
        {
            await Send.ResultAsync(problem!);
            return;
        }

        var since = req.Since!.Value.ToUniversalTime();
        var candidates = await db.Events.AsNoTracking()
            .Where(ev => ev.TenantId == tenant.TenantId && ev.CreatedAt >= since && ev.Type != WebhookEventTypes.WebhookTest)
            // Received (or still on its way): not replayed.
            .Where(ev => !db.Deliveries.Any(d => d.EndpointId == endpoint.Id && d.EventId == ev.Id && d.Status != DeliveryStatus.Failed))
            .OrderBy(ev => ev.Id)
            .Select(ev => new { ev.Id, ev.Type })
            .Take(MaxEvents + 1)
            .ToListAsync(ct);

        var now = clock.GetUtcNow();
        var queued = 0;
        foreach (var candidate in candidates.Take(MaxEvents).Where(c => EventTypeFilter.Accepts(endpoint.EventTypes, c.Type)))
        {
            db.Deliveries.Add(WebhookDelivery.Due(Ids.New(clock), tenant.TenantId, endpoint.Id, candidate.Id, now));
            queued++;
        }

        await db.SaveChangesAsync(ct);
        await Send.ResultAsync(TypedResults.Accepted((string?)null, new ReplayWebhookResponse(queued, candidates.Count > MaxEvents)));
    }
}
