using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Webhooks.Contracts;
using Notify.Modules.Webhooks.Data;

namespace Notify.Modules.Webhooks.Dispatch;

/// <summary>
/// Disables an endpoint the Worker gave up on and tells the tenant, in one transaction: the endpoint shows
/// why and when, a <c>webhook.disabled</c> event goes to the tenant's other endpoints that want it, and an
/// audit entry is recorded (through Access's audit event, via this module's outbox).
/// </summary>
internal sealed class EndpointDisabler(WebhooksDbContext db, WebhookFanOut fanOut, TimeProvider clock, ILogger<EndpointDisabler> logger)
{
    public const string AuditAction = "webhook.disabled";

    public async Task DisableAsync(Guid endpointId, string reason, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Conditional, so two Workers reaching the limit together disable (and report) it once.
        var disabled = await db.Endpoints
            .Where(e => e.Id == endpointId && e.Enabled)
            .ExecuteUpdateAsync(s => s
                .SetProperty(e => e.Enabled, false)
                .SetProperty(e => e.DisabledReason, reason)
                .SetProperty(e => e.DisabledAt, now)
                .SetProperty(e => e.UpdatedAt, now), cancellationToken);
        if (disabled == 0)
        {
            return;
        }

        var endpoint = await db.Endpoints.AsNoTracking().SingleAsync(e => e.Id == endpointId, cancellationToken);
        var data = JsonSerializer.SerializeToElement(new { endpointId, url = endpoint.Url, reason, disabledAt = now }, JsonSerializerOptions.Web);
        await fanOut.PublishAsync(Ids.New(clock), endpoint.TenantId, WebhookEventTypes.WebhookDisabled, data, now, exceptEndpoint: endpointId, cancellationToken);
        db.AddIntegrationEvent(new AuditEventIntegrationEvent(AuditAction, "webhook", endpointId.ToString()), endpoint.TenantId, clock);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        logger.LogWarning("Webhook endpoint {EndpointId} of tenant {TenantId} disabled: {Reason}", endpointId, endpoint.TenantId, reason);
    }
}
