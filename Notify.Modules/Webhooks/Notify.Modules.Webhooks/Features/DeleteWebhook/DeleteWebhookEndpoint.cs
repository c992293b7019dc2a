using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Webhooks.Data;

namespace Notify.Modules.Webhooks.Features.DeleteWebhook;

public sealed record DeleteWebhookRequest(Guid Id);

internal sealed class DeleteWebhookEndpoint(WebhooksDbContext db, ITenantContext tenant) : Endpoint<DeleteWebhookRequest>
{
    public override void Configure()
    {
        Delete("/v1/webhooks/{id}");
        Permissions(ApiScopes.WebhooksManage);
        Description(b => b.WithTags("Webhooks"));
        Summary(s =>
        {
            s.Summary = "Delete a webhook endpoint";
            s.Description = "Pending deliveries are dropped and its attempt log is deleted with it.";
        });
    }

    public override async Task HandleAsync(DeleteWebhookRequest req, CancellationToken ct)
    {
        var deleted = await db.Endpoints.Where(e => e.TenantId == tenant.TenantId && e.Id == req.Id).ExecuteDeleteAsync(ct);
        await Send.ResultAsync(deleted == 0 ? WebhookRules.NotFound(req.Id) : TypedResults.NoContent());
    }
}
