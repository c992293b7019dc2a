using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Access.Data;

namespace Notify.Modules.Access.Provisioning;

/// <summary>
/// Marks a new tenant provisioned once its creation event has gone through the outbox, the broker and
/// the Worker; other modules subscribe to the same event to seed their per-tenant defaults.
/// </summary>
internal sealed class TenantProvisioningHandler(AccessDbContext db, TimeProvider clock, ILogger<TenantProvisioningHandler> logger)
    : IIntegrationEventHandler<TenantCreatedIntegrationEvent>
{
    public const string Queue = "access.tenant-provisioning";

    public async Task HandleAsync(TenantCreatedIntegrationEvent integrationEvent, IntegrationEventContext context, CancellationToken cancellationToken)
    {
        var tenant = await db.Tenants.FindAsync([integrationEvent.TenantId], cancellationToken);
        if (tenant is null)
        {
            logger.LogWarning("Tenant {TenantId} from event {EventId} does not exist", integrationEvent.TenantId, context.EventId);
            return;
        }

        tenant.ProvisionedAt ??= clock.GetUtcNow();
        logger.LogInformation("Tenant {TenantId} ({Name}) provisioned", tenant.Id, tenant.Name);
    }
}
