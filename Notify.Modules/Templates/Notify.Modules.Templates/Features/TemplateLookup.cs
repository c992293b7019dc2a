using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Templates.Data;
using Notify.Modules.Templates.Domain;

namespace Notify.Modules.Templates.Features;

internal static class TemplateLookup
{
    /// <summary>The tenant's template with this key; another tenant's is as absent as a missing one.</summary>
    public static Task<Template?> FindAsync(this TemplatesDbContext db, Guid tenantId, string key, CancellationToken ct) =>
        db.Templates.FirstOrDefaultAsync(t => t.TenantId == tenantId && t.Key == key, ct);

    /// <summary>The tenant's template if it can still change; otherwise the problem to answer with (404, or 409 when archived).</summary>
    public static async Task<(Template? Template, IResult? Problem)> FindEditableAsync(this TemplatesDbContext db, Guid tenantId, string key, CancellationToken ct)
    {
        var template = await db.FindAsync(tenantId, key, ct);
        if (template is null)
        {
            return (null, NotFound(key));
        }

        return template.ArchivedAt is null ? (template, null) : (null, ProblemResults.Conflict($"Template '{key}' is archived."));
    }

    public static IResult NotFound(string key) => ProblemResults.NotFound($"Template '{key}' does not exist.");
}
