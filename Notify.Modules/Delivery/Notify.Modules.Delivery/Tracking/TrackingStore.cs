using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Delivery.Tracking;

/// <summary>Records what the tracking links report: an email delivery opened, or clicked.</summary>
internal sealed class TrackingStore(DeliveryDbContext db, NotificationStore store)
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
        if (await store.AdvanceDeliveryAsync(link.T, link.D, link.CreatedAt, status, detail, ct, Channels.Email) is null)
        {
            return false;
        }

        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return true;
    }
}
