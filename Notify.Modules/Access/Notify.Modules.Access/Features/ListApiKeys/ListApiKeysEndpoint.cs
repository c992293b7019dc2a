using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Access.Data;

namespace Notify.Modules.Access.Features.ListApiKeys;

public sealed record ListApiKeysRequest : PagedRequest
{
    [QueryParam] public bool IncludeRevoked { get; init; }
}

internal sealed class ListApiKeysValidator : Validator<ListApiKeysRequest>
{
    public ListApiKeysValidator()
    {
        this.AddPagingRules();
    }
}

internal sealed class ListApiKeysEndpoint(AccessDbContext db, ITenantContext tenant) : Endpoint<ListApiKeysRequest, CursorPage<ApiKeyResponse>>
{
    public override void Configure()
    {
        Get("/v1/api-keys");
        Permissions(ApiScopes.Admin);
        Description(b => b.WithTags("Access"));
        Summary(s => s.Summary = "List the tenant's API keys, newest first");
    }

    public override async Task HandleAsync(ListApiKeysRequest req, CancellationToken ct)
    {
        var query = db.ApiKeys.AsNoTracking().Where(k => k.TenantId == tenant.TenantId);
        if (!req.IncludeRevoked)
        {
            query = query.Where(k => k.RevokedAt == null);
        }

        if (Cursor.TryDecode(req.Cursor, out var after))
        {
            query = query.Where(k => k.Id < after);
        }

        var rows = await query.OrderByDescending(k => k.Id).Take(req.Limit + 1).ToListAsync(ct);
        await Send.OkAsync(Cursor.ToPage(rows, req.Limit, k => k.Id, ApiKeyResponse.From), ct);
    }
}
