using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Access.Data;

namespace Notify.Modules.Access.Features.ListAuditLog;

public sealed record ListAuditLogRequest : PagedRequest
{

    /// <summary>Only entries of this action, e.g. <c>api_key.revoked</c>.</summary>
    [QueryParam] public string? Action { get; init; }
}

public sealed record AuditEntryResponse(
    Guid Id, string Action, string ResourceType, string ResourceId, Guid? ActorKeyId, string? IpAddress, string? UserAgent, DateTimeOffset OccurredAt);

internal sealed class ListAuditLogValidator : Validator<ListAuditLogRequest>
{
    public ListAuditLogValidator()
    {
        this.AddPagingRules();
    }
}

internal sealed class ListAuditLogEndpoint(AccessDbContext db, ITenantContext tenant) : Endpoint<ListAuditLogRequest, CursorPage<AuditEntryResponse>>
{
    public override void Configure()
    {
        Get("/v1/audit-log");
        Permissions(ApiScopes.Admin);
        Description(b => b.WithTags("Access"));
        Summary(s => s.Summary = "List the tenant's administrative actions, newest first");
    }

    public override async Task HandleAsync(ListAuditLogRequest req, CancellationToken ct)
    {
        var query = db.AuditLog.AsNoTracking().Where(e => e.TenantId == tenant.TenantId);
        if (req.Action is not null)
        {
            query = query.Where(e => e.Action == req.Action);
        }

        if (Cursor.TryDecode(req.Cursor, out var after))
        {
            query = query.Where(e => e.Id < after);
        }

        var rows = await query.OrderByDescending(e => e.Id).Take(req.Limit + 1).ToListAsync(ct);
        await Send.OkAsync(Cursor.ToPage(rows, req.Limit, e => e.Id,
            e => new AuditEntryResponse(e.Id, e.Action, e.ResourceType, e.ResourceId, e.ActorKeyId, e.IpAddress, e.UserAgent, e.OccurredAt)), ct);
    }
}
