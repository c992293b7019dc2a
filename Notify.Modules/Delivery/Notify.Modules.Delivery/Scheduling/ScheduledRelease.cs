using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Delivery.Contracts;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;

namespace Notify.Modules.Delivery.Scheduling;

/// <summary>
/// Releases scheduled sends whose time has come: each moves from <c>scheduled</c> to <c>accepted</c> with a
/// <c>released</c> timeline row and a new requested event (routed by priority) in one transaction, so the planner
/// plans it now, with the recipient's preferences of now. Cancelled sends are no longer <c>scheduled</c> and stay put.
/// </summary>
/// <remarks>
/// Quiet and work hours are not released here: the planner stores them as the delivery's <c>deliver_at</c>, and the
/// channel senders only claim deliveries whose <c>deliver_at</c> has passed (<see cref="Sending.SendingStore.ClaimAsync"/>),
/// by the same injected clock.
/// </remarks>
internal sealed class ScheduledRelease(DeliveryDbContext db, TimeProvider clock)
{
    public const int BatchSize = 1000;

    /// <summary>Releases up to <see cref="BatchSize"/> due sends; <c>SKIP LOCKED</c> lets a second run take others. Returns how many.</summary>
    public async Task<int> ReleaseDueAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        // On the partial due index (ix_notifications_release_due): release_at is set only while a send is scheduled.
#pragma warning disable EF1002 // Constants, not input; values are parameters.
        var released = await db.Database.SqlQueryRaw<ReleasedRow>($$"""
            WITH due AS (
                SELECT id, created_at FROM delivery.notifications
                WHERE release_at IS NOT NULL AND release_at <= {0} AND status = '{{NotificationStatus.Scheduled}}'
                ORDER BY release_at
                LIMIT {{BatchSize}}
                FOR UPDATE SKIP LOCKED)
            UPDATE delivery.notifications n SET status = '{{NotificationStatus.Accepted}}', release_at = NULL, updated_at = {0}
            FROM due WHERE n.id = due.id AND n.created_at = due.created_at
            RETURNING n.id, n.created_at, n.tenant_id, n.priority, n.scheduled_for
            """, now).ToListAsync(ct);
#pragma warning restore EF1002
        foreach (var row in released)
        {
            db.Events.Add(new NotificationEvent
            {
                Id = Ids.New(clock), TenantId = row.TenantId, NotificationId = row.Id, Type = TimelineEvents.Released,
                Detail = $"Released at its scheduled time {row.ScheduledFor:O}.", CreatedAt = now,
            });
            db.Set<OutboxMessage>().Add(NotificationStore.RequestedMessage(
                new NotificationRequestedIntegrationEvent(row.TenantId, row.Id, row.CreatedAt, row.Priority, row.ScheduledFor), now));
        }

        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return released.Count;
    }

    internal sealed record ReleasedRow(Guid Id, DateTimeOffset CreatedAt, Guid TenantId, string Priority, DateTimeOffset? ScheduledFor);
}
