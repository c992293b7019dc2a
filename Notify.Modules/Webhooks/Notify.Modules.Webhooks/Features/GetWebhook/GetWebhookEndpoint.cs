using FastEndpoints;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Webhooks.Data;

namespace Notify.Modules.Webhooks.Features.GetWebhook;

public sealed record GetWebhookRequest(Guid Id);

internal sealed class GetWebhookEndpoint(WebhooksDbContext db, ITenantContext tenant) : Endpoint<GetWebhookRequest, WebhookResponse>
{
    public override void Configure()
    {
        Get("/v1/webhooks/{id}");
        Permissions(ApiScopes.WebhooksManage);
        Description(b => b.WithTags("Webhooks"));
        Summary(s => s.Summary = "Get a webhook endpoint (without its secret)");
    }

    public override async Task HandleAsync(GetWebhookRequest req, CancellationToken ct)
    {
        var endpoint = await db.FindAsync(tenant.TenantId, req.Id, ct);
        await Send.ResultAsync(endpoint is null ? WebhookRules.NotFound(req.Id) : TypedResults.Ok(WebhookResponse.From(endpoint)));
    }
}
