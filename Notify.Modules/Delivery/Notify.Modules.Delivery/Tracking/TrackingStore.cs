using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Delivery.Tracking;

/// <summary>Records what the tracking links report: an email delivery opened, or clicked.</summary>
internal sealed class TrackingStore(DeliveryDbContext db, TimeProvider clock)
{
    /// <summary>
    /// Moves the email delivery forward to <paramref name="status"/> (<c>opened</c> or <c>clicked</c>) with its timeline
    /// row — whose status integration and webhook events <see cref="DeliveryDbContext"/> adds in the same transaction.
    /// Statuses only move forward, so a repeat open or click, an open after a click, or one on a failed or bounced delivery
    /// records nothing; false then.
    /// </summary>
    public async Task<bool> RecordAsync(TrackingPayload link, string status, string? detail, CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var now = clock.GetUtcNow();
#pragma warning disable EF1002 // The rank expression is built from constants, not from input; values are parameters.
        var moved = await db.Database.SqlQueryRaw<Guid>(
            $$"""
            UPDATE delivery.deliveries SET status = {0}, updated_at = {1}
            WHERE id = {2} AND created_at = {3} AND tenant_id = {4} AND channel = {5} AND {{DeliveryStatus.RankSql}} < {6}
            RETURNING notification_id AS "Value"
            """,
            status, now, link.D, link.CreatedAt, link.T, Channels.Email, DeliveryStatus.Rank(status)).ToListAsync(ct);
#pragma warning restore EF1002
        if (moved.Count == 0)
        {
            return false;
        }

        db.Events.Add(new NotificationEvent
        {
            Id = Ids.New(clock),
            TenantId = link.T,
            NotificationId = moved[0],
            DeliveryId = link.D,
            Channel = Channels.Email,
            Type = status,
            Detail = detail is { Length: > 2000 } ? detail[..2000] : detail,
            CreatedAt = now,
        });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return true;
    }
}
