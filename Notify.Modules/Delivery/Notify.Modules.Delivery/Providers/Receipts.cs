using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Preferences.Contracts;

namespace Notify.Modules.Delivery.Providers;

/// <summary>What a provider tells us about a message it sent.</summary>
internal static class ReceiptTypes
{
    public const string Delivered = "delivered";

    /// <summary>Hard bounce: the address does not exist. Suppresses it.</summary>
    public const string Bounced = "bounced";

    /// <summary>Temporary refusal (full mailbox, phone off). Enough of them suppress the address.</summary>
    public const string SoftBounced = "soft_bounced";

    /// <summary>The recipient marked it as spam. Suppresses the address.</summary>
    public const string Complained = "complained";

    /// <summary>The provider could not deliver it after accepting it.</summary>
    public const string Failed = "failed";

    public static readonly string[] All = [Delivered, Bounced, SoftBounced, Complained, Failed];
}

/// <summary>
/// One receipt, in the provider-neutral form every adapter's callback is turned into; it names the message by the
/// provider's id, or by the delivery id when the provider echoes it back (SendGrid's custom arguments).
/// </summary>
internal sealed record Receipt(string ProviderMessageId, string Type, string? Detail, Guid? DeliveryId = null);

/// <summary>What became of one receipt.</summary>
internal sealed record ReceiptResult(string ProviderMessageId, string Outcome);

/// <summary>
/// Applies receipts to the deliveries a provider sent: the status moves forward only (a late "delivered" after a bounce
/// changes nothing), each change is a timeline event (and so a status event and webhook), and bounces and complaints
/// suppress the address for every channel — soft bounces once <see cref="ProviderOptions.SoftBounceLimit"/> of them
/// came within 30 days.
/// </summary>
internal sealed class ReceiptProcessor(DeliveryDbContext db, NotificationStore store, IRecipientPreferences preferences, IOptions<ProviderOptions> options, TimeProvider clock)
{
    public async Task<List<ReceiptResult>> ApplyAsync(Provider provider, IReadOnlyList<Receipt> receipts, CancellationToken ct)
    {
        var results = new List<ReceiptResult>();
        foreach (var receipt in receipts)
        {
            results.Add(new ReceiptResult(receipt.ProviderMessageId, await ApplyAsync(provider, receipt, ct)));
        }

        return results;
    }

    private async Task<string> ApplyAsync(Provider provider, Receipt receipt, CancellationToken ct)
    {
        var candidates = db.Deliveries.AsNoTracking().Where(d => d.TenantId == provider.TenantId && d.ProviderId == provider.Id);
        var delivery = await (receipt.DeliveryId is { } deliveryId
            ? candidates.Where(d => d.Id == deliveryId)
            : candidates.Where(d => d.ProviderMessageId == receipt.ProviderMessageId)).FirstOrDefaultAsync(ct);
        if (delivery is null)
        {
            return "unknown_message";
        }

        // The creation time the UUIDv7 carries is the partition key.
        var createdAt = UuidV7.CreatedAt(delivery.NotificationId) ?? delivery.CreatedAt;
        var notification = await db.Notifications.AsNoTracking()
            .FirstAsync(n => n.Id == delivery.NotificationId && n.TenantId == delivery.TenantId && n.CreatedAt == createdAt, ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var outcome = receipt.Type switch
        {
            ReceiptTypes.SoftBounced => await RecordSoftBounceAsync(delivery, notification, receipt, ct),
            _ => await MoveAsync(delivery, notification, StatusOf(receipt.Type), receipt, ct) ? "applied" : "already_past",
        };
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);

        if (delivery.Address is { } address && (receipt.Type is ReceiptTypes.Bounced or ReceiptTypes.Complained || outcome == "suppressed"))
        {
            await preferences.SuppressAddressAsync(delivery.TenantId, address,
                receipt.Type == ReceiptTypes.Complained ? SuppressionReason.Complaint : SuppressionReason.HardBounce, ct);
        }

        return outcome;
    }

    private static string StatusOf(string type) => type switch
    {
        ReceiptTypes.Delivered => DeliveryStatus.Delivered,
        ReceiptTypes.Bounced => DeliveryStatus.Bounced,
        ReceiptTypes.Complained => DeliveryStatus.Complained,
        _ => DeliveryStatus.Failed,
    };

    /// <summary>Moves the delivery forward to <paramref name="status"/> with a timeline event; false when it was already there or past it.</summary>
    private async Task<bool> MoveAsync(ChannelDelivery delivery, Notification notification, string status, Receipt receipt, CancellationToken ct)
    {
        // The notification's facts are at hand: the status event need not look them up.
        db.Remember(notification);
        if (await store.AdvanceDeliveryAsync(delivery.TenantId, delivery.Id, delivery.CreatedAt, status,
                receipt.Detail ?? $"Reported by the provider ({receipt.ProviderMessageId}).", ct) is null)
        {
            return false;
        }

        if (status == DeliveryStatus.Delivered)
        {
            await store.AdvanceAsync(notification, NotificationStatus.Delivered, ct);
        }

        return true;
    }

    /// <summary>A soft bounce is a timeline event; the one that reaches the limit for the address suppresses it ("suppressed").</summary>
    private async Task<string> RecordSoftBounceAsync(ChannelDelivery delivery, Notification notification, Receipt receipt, CancellationToken ct)
    {
        db.Events.Add(store.NewEvent(notification, ReceiptTypes.SoftBounced, receipt.Detail ?? "Temporarily refused.", delivery.Channel, delivery.Id));
        var since = clock.GetUtcNow().AddDays(-30);
        var earlier = await db.Events.AsNoTracking()
            .Where(e => e.TenantId == delivery.TenantId && e.Type == ReceiptTypes.SoftBounced && e.CreatedAt >= since)
            .Join(db.Deliveries.Where(d => d.TenantId == delivery.TenantId && d.Address == delivery.Address && d.CreatedAt >= since.AddDays(-30)),
                e => e.DeliveryId, d => (Guid?)d.Id, (e, d) => e.Id)
            .CountAsync(ct);
        return earlier + 1 >= options.Value.SoftBounceLimit ? "suppressed" : "applied";
    }
}
