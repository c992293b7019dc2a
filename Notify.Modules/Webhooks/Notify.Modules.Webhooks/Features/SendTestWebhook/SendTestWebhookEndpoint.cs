using System.Text.Json;
using FastEndpoints;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Webhooks.Contracts;
using Notify.Modules.Webhooks.Data;
using Notify.Modules.Webhooks.Dispatch;

namespace Notify.Modules.Webhooks.Features.SendTestWebhook;

public sealed record SendTestWebhookRequest(Guid Id);

/// <summary>The queued test event; its attempts appear in the endpoint's attempt log.</summary>
public sealed record WebhookQueuedResponse(Guid EventId, Guid DeliveryId);

internal sealed class SendTestWebhookEndpoint(WebhooksDbContext db, WebhookFanOut fanOut, ITenantContext tenant)
    : Endpoint<SendTestWebhookRequest, WebhookQueuedResponse>
{
    public override void Configure()
    {
        Post("/v1/webhooks/{id}/test");
        Permissions(ApiScopes.WebhooksManage);
        Description(b => b.WithTags("Webhooks"));
        Summary(s =>
        {
            s.Summary = "Send a webhook.test event to this endpoint";
            s.Description = "Queued for the Worker like any event (signed, retried, logged), whatever the endpoint's event filter.";
        });
    }

    public override async Task HandleAsync(SendTestWebhookRequest req, CancellationToken ct)
    {
        var (endpoint, problem) = await db.FindEnabledAsync(tenant.TenantId, req.Id, ct);
        if (endpoint is null)
        {
            await Send.ResultAsync(problem!);
            return;
        }

        var data = JsonSerializer.SerializeToElement(new { endpointId = endpoint.Id, message = "This is a test event from Notify." }, JsonSerializerOptions.Web);
        var (webhookEvent, delivery) = fanOut.SendTo(endpoint.Id, tenant.TenantId, WebhookEventTypes.WebhookTest, data);
        await db.SaveChangesAsync(ct);
        await Send.ResultAsync(TypedResults.Accepted((string?)null, new WebhookQueuedResponse(webhookEvent.Id, delivery.Id)));
    }
}
