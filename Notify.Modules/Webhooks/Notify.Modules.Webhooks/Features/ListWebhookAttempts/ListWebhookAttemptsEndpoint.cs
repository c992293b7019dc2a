using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Webhooks.Data;
using Notify.Modules.Webhooks.Domain;

namespace Notify.Modules.Webhooks.Features.ListWebhookAttempts;

public sealed record ListWebhookAttemptsRequest : PagedRequest
{
    public Guid Id { get; init; }
}

/// <summary>One HTTP attempt: what was sent (event, attempt number) and what came back (status, time, body up to 4 KiB, error).</summary>
public sealed record WebhookAttemptResponse(
    Guid Id,
    Guid EventId,
    string EventType,
    Guid DeliveryId,
    int AttemptNumber,
    bool Succeeded,
    int? StatusCode,
    int DurationMs,
    string? ResponseBody,
    string? Error,
    DateTimeOffset CreatedAt)
{
    internal static WebhookAttemptResponse From(WebhookAttempt a) => new(
        a.Id, a.EventId, a.EventType, a.DeliveryId, a.AttemptNumber, a.Succeeded, a.StatusCode, a.DurationMs, a.ResponseBody, a.Error, a.CreatedAt);
}

internal sealed class ListWebhookAttemptsValidator : Validator<ListWebhookAttemptsRequest>
{
    public ListWebhookAttemptsValidator() => this.AddPagingRules();
}

internal sealed class ListWebhookAttemptsEndpoint(WebhooksDbContext db, ITenantContext tenant)
    : Endpoint<ListWebhookAttemptsRequest, CursorPage<WebhookAttemptResponse>>
{
    public override void Configure()
    {
        Get("/v1/webhooks/{id}/attempts");
        Permissions(ApiScopes.WebhooksManage);
        Description(b => b.WithTags("Webhooks"));
        Summary(s => s.Summary = "List a webhook endpoint's delivery attempts, newest first");
    }

    public override async Task HandleAsync(ListWebhookAttemptsRequest req, CancellationToken ct)
    {
        if (await db.FindAsync(tenant.TenantId, req.Id, ct) is null)
        {
            await Send.ResultAsync(WebhookRules.NotFound(req.Id));
            return;
        }

        var query = db.Attempts.AsNoTracking().Where(a => a.TenantId == tenant.TenantId && a.EndpointId == req.Id);
        if (Cursor.TryDecode(req.Cursor, out var after))
        {
            query = query.Where(a => a.Id < after);
        }

        var rows = await query.OrderByDescending(a => a.Id).Take(req.Limit + 1).ToListAsync(ct);
        await Send.OkAsync(Cursor.ToPage(rows, req.Limit, a => a.Id, WebhookAttemptResponse.From), ct);
    }
}
