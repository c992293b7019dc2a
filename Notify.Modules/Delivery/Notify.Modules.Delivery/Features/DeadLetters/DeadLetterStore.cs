using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;

namespace Notify.Modules.Delivery.Features.DeadLetters;

/// <summary>What became of an operator's retry or resolve.</summary>
internal abstract record DeadLetterOutcome
{
    public sealed record Done(DeadLetter DeadLetter, Guid? RetryDeliveryId) : DeadLetterOutcome;

    public sealed record NotFound : DeadLetterOutcome;

    public sealed record Conflict(string Reason) : DeadLetterOutcome;
}

/// <summary>The operator's side of dead letters (parking happens in <see cref="Sending.SendingStore"/>).</summary>
internal sealed class DeadLetterStore(DeliveryDbContext db, NotificationStore store, TimeProvider clock)
{
    public Task<DeadLetter?> FindAsync(Guid tenantId, Guid id, CancellationToken ct) =>
        db.DeadLetters.AsNoTracking().FirstOrDefaultAsync(d => d.Id == id && d.TenantId == tenantId, ct);

    /// <summary>
    /// Sends a dead letter's message again as a NEW queued delivery (same notification, channel, address, rendered
    /// content, priority): the failed delivery stays failed, since statuses only move forward. The dead letter becomes
    /// <c>retried</c> and names the new delivery; the timeline records the operator's retry; a <c>failed</c>
    /// notification moves back to <c>processing</c> — the one backward step, allowed only here (see
    /// <see cref="NotificationStatus"/>). All in one transaction; the status update decides between concurrent calls.
    /// </summary>
    public async Task<DeadLetterOutcome> RetryAsync(Guid tenantId, Guid id, CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var now = clock.GetUtcNow();
        var retryId = Ids.New(clock);
        var taken = await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE delivery.dead_letters SET status = {DeadLetterStatus.Retried}, resolution = {$"Retried by an operator as delivery {retryId}."},
                updated_at = {now}
            WHERE id = {id} AND tenant_id = {tenantId} AND status = {DeadLetterStatus.Open}
            """, ct);
        if (taken == 0)
        {
            await transaction.RollbackAsync(ct);
            return await NotOpenAsync(tenantId, id, ct);
        }

        var dead = await db.DeadLetters.AsNoTracking().SingleAsync(d => d.Id == id, ct);
        var failed = await db.Deliveries.AsNoTracking()
            .FirstOrDefaultAsync(d => d.Id == dead.DeliveryId && d.CreatedAt == dead.DeliveryCreatedAt && d.TenantId == tenantId, ct);
        var notification = await store.FindAsync(tenantId, dead.NotificationId, ct);
        if (failed is null || notification is null)
        {
            await transaction.RollbackAsync(ct);
            return new DeadLetterOutcome.Conflict($"Dead letter '{id}' cannot be retried: its delivery or notification no longer exists.");
        }

        if (notification.Status == NotificationStatus.Cancelled)
        {
            await transaction.RollbackAsync(ct);
            return new DeadLetterOutcome.Conflict($"Dead letter '{id}' cannot be retried: its notification was cancelled. Resolve it instead.");
        }

        db.Deliveries.Add(new ChannelDelivery
        {
            Id = retryId,
            TenantId = tenantId,
            NotificationId = failed.NotificationId,
            Channel = failed.Channel,
            Priority = failed.Priority,
            Status = DeliveryStatus.Queued,
            Address = failed.Address,
            Content = failed.Content,
            TraceParent = failed.TraceParent,
            CreatedAt = now,
            UpdatedAt = now,
        });
        db.Events.Add(store.NewEvent(notification, TimelineEvents.RetriedByOperator,
            $"Retried by an operator from dead letter {dead.Id} (failed delivery {failed.Id}).", failed.Channel, retryId));
        await db.SaveChangesAsync(ct);
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE delivery.notifications SET status = {NotificationStatus.Processing}, updated_at = {now}
            WHERE id = {notification.Id} AND created_at = {notification.CreatedAt} AND tenant_id = {tenantId} AND status = {NotificationStatus.Failed}
            """, ct);
        await transaction.CommitAsync(ct);
        db.ChangeTracker.Clear();
        return new DeadLetterOutcome.Done((await FindAsync(tenantId, id, ct))!, retryId);
    }

    /// <summary>Closes an open dead letter without another attempt, with the operator's note.</summary>
    public async Task<DeadLetterOutcome> ResolveAsync(Guid tenantId, Guid id, string? note, CancellationToken ct)
    {
        var updated = await db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE delivery.dead_letters SET status = {DeadLetterStatus.Resolved}, resolution = {note ?? "Resolved by an operator."},
                updated_at = {clock.GetUtcNow()}
            WHERE id = {id} AND tenant_id = {tenantId} AND status = {DeadLetterStatus.Open}
            """, ct);
        return updated == 1 ? new DeadLetterOutcome.Done((await FindAsync(tenantId, id, ct))!, null) : await NotOpenAsync(tenantId, id, ct);
    }

    private async Task<DeadLetterOutcome> NotOpenAsync(Guid tenantId, Guid id, CancellationToken ct) =>
        await FindAsync(tenantId, id, ct) is { } existing
            ? new DeadLetterOutcome.Conflict(
                $"Dead letter '{id}' is already {existing.Status} (since {existing.UpdatedAt:O}): only open dead letters can be retried or resolved.")
            : new DeadLetterOutcome.NotFound();
}
