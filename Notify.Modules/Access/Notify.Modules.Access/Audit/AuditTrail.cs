using Microsoft.AspNetCore.Http;
using Notify.Modules.Abstractions;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Access.Data;
using Notify.Modules.Access.Domain;

namespace Notify.Modules.Access.Audit;

/// <summary>
/// Adds an audit entry to the request's unit of work, so it commits (or not) together with the change it records.
/// </summary>
internal sealed class AuditTrail(AccessDbContext db, IHttpContextAccessor http, TimeProvider clock)
{
    public void Record(Guid tenantId, string action, string resourceType, string resourceId)
    {
        var context = http.HttpContext;
        Guid? actor = Guid.TryParse(context?.User.FindFirst(AccessClaims.ApiKeyId)?.Value, out var keyId) ? keyId : null;
        string? userAgent = context?.Request.Headers.UserAgent;
        db.AuditLog.Add(new AuditEntry
        {
            Id = Ids.New(clock),
            TenantId = tenantId,
            ActorKeyId = actor,
            Action = action,
            ResourceType = resourceType,
            ResourceId = resourceId,
            IpAddress = context?.Connection.RemoteIpAddress?.ToString(),
            UserAgent = userAgent is { Length: > 500 } ? userAgent[..500] : userAgent,
            OccurredAt = clock.GetUtcNow(),
        });
    }
}
