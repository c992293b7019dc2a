using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Webhooks.Data;

namespace Notify.Modules.Webhooks.Features.ListWebhooks;

public sealed record ListWebhooksRequest : PagedRequest;

internal sealed class ListWebhooksValidator : Validator<ListWebhooksRequest>
{
    public ListWebhooksValidator() => this.AddPagingRules();
}

internal sealed class ListWebhooksEndpoint(WebhooksDbContext db, ITenantContext tenant) : Endpoint<ListWebhooksRequest, CursorPage<WebhookResponse>>
{
    public override void Configure()
    {
        Get("/v1/webhooks");
        Permissions(ApiScopes.WebhooksManage);
        Description(b => b.WithTags("Webhooks"));
        Summary(s => s.Summary = "List webhook endpoints, newest first");
    }

    public override async Task HandleAsync(ListWebhooksRequest req, CancellationToken ct)
    {
        var query = db.Endpoints.AsNoTracking().Where(e => e.TenantId == tenant.TenantId);
        if (Cursor.TryDecode(req.Cursor, out var after))
        {
            query = query.Where(e => e.Id < after);
        }

        var rows = await query.OrderByDescending(e => e.Id).Take(req.Limit + 1).ToListAsync(ct);
        await Send.OkAsync(Cursor.ToPage(rows, req.Limit, e => e.Id, WebhookResponse.From), ct);
    }
}
