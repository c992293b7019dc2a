using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Templates.Data;

namespace Notify.Modules.Templates.Features.ListTemplates;

public sealed record ListTemplatesRequest : PagedRequest
{
    [QueryParam] public string? Category { get; init; }
    [QueryParam] public bool IncludeArchived { get; init; }
}

internal sealed class ListTemplatesValidator : Validator<ListTemplatesRequest>
{
    public ListTemplatesValidator() => this.AddPagingRules();
}

internal sealed class ListTemplatesEndpoint(TemplatesDbContext db, ITenantContext tenant) : Endpoint<ListTemplatesRequest, CursorPage<TemplateResponse>>
{
    public override void Configure()
    {
        Get("/v1/templates");
        Permissions(ApiScopes.NotificationsRead, ApiScopes.TemplatesWrite);
        Description(b => b.WithTags("Templates"));
        Summary(s => s.Summary = "List templates, newest first, optionally of one category");
    }

    public override async Task HandleAsync(ListTemplatesRequest req, CancellationToken ct)
    {
        var query = db.Templates.AsNoTracking().Where(t => t.TenantId == tenant.TenantId);
        if (!req.IncludeArchived)
        {
            query = query.Where(t => t.ArchivedAt == null);
        }

        if (req.Category is not null)
        {
            query = query.Where(t => t.Category == req.Category);
        }

        if (Cursor.TryDecode(req.Cursor, out var after))
        {
            query = query.Where(t => t.Id < after);
        }

        var rows = await query.OrderByDescending(t => t.Id).Take(req.Limit + 1).ToListAsync(ct);
        await Send.OkAsync(Cursor.ToPage(rows, req.Limit, t => t.Id, TemplateResponse.From), ct);
    }
}
