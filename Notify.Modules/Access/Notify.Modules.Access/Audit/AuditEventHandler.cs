using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Access.Data;
using Notify.Modules.Access.Domain;

namespace Notify.Modules.Access.Audit;

/// <summary>
/// Records actions other modules took without an API request (so without an actor key) in the tenant's
/// audit log. The entry id is the message id: a redelivered message cannot add a second entry.
/// </summary>
internal sealed class AuditEventHandler(AccessDbContext db, ILogger<AuditEventHandler> logger) : IIntegrationEventHandler<AuditEventIntegrationEvent>
{
    public const string Queue = "access.audit";

    public Task HandleAsync(AuditEventIntegrationEvent integrationEvent, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        if (context.TenantId is not { } tenantId)
        {
            logger.LogWarning("Audit event {EventId} ({Action}) names no tenant; dropped", context.EventId, integrationEvent.Action);
            return Task.CompletedTask;
        }

        db.AuditLog.Add(new AuditEntry
        {
            Id = context.EventId,
            TenantId = tenantId,
            Action = Truncate(integrationEvent.Action, 100),
            ResourceType = Truncate(integrationEvent.ResourceType, 100),
            ResourceId = Truncate(integrationEvent.ResourceId, 200),
            OccurredAt = context.OccurredAt,
        });
        return Task.CompletedTask;
    }

    private static string Truncate(string value, int length) => value.Length > length ? value[..length] : value;
}
