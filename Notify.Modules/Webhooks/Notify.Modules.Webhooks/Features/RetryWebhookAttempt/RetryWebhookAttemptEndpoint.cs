using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Webhooks.Data;
using Notify.Modules.Webhooks.Domain;
using Notify.Modules.Webhooks.Features.SendTestWebhook;

namespace Notify.Modules.Webhooks.Features.RetryWebhookAttempt;

public sealed record RetryWebhookAttemptRequest(Guid Id, Guid AttemptId);

internal sealed class RetryWebhookAttemptEndpoint(WebhooksDbContext db, ITenantContext tenant, TimeProvider clock)
    : Endpoint<RetryWebhookAttemptRequest, WebhookQueuedResponse>
{
    public override void Configure()
    {
        Post("/v1/webhooks/{id}/attempts/{attemptId}/retry");
        Permissions(ApiScopes.WebhooksManage);
        Description(b => b.WithTags("Webhooks"));
        Summary(s =>
        {
            s.Summary = "Send an attempt's event to the endpoint again";
            s.Description = "Queues a new delivery of the same event (same webhook-id, so receivers can deduplicate), with a fresh retry schedule.";
        });
    }

    public override async Task HandleAsync(RetryWebhookAttemptRequest req, CancellationToken ct)
    {
        var (endpoint, problem) = await db.FindEnabledAsync(tenant.TenantId, req.Id, ct);
        if (endpoint is null)
        {
            await Send.ResultAsync(problem!);
            return;
        }

        var attempt = await db.Attempts.AsNoTracking().SingleOrDefaultAsync(a => a.EndpointId == endpoint.Id && a.Id == req.AttemptId, ct);
        if (attempt is null)
        {
            await Send.ResultAsync(ProblemResults.NotFound($"Webhook endpoint '{req.Id}' has no attempt with id '{req.AttemptId}'."));
            return;
        }

        var delivery = WebhookDelivery.Due(Ids.New(clock), tenant.TenantId, endpoint.Id, attempt.EventId, clock.GetUtcNow());
        db.Deliveries.Add(delivery);
        await db.SaveChangesAsync(ct);
        await Send.ResultAsync(TypedResults.Accepted((string?)null, new WebhookQueuedResponse(attempt.EventId, delivery.Id)));
    }
}
