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

    public static IResult NotFound(string key) => ProblemResults.NotFound($"Template '{key}' does not exist.");
}
