using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Templates.Contracts;
using Notify.Testing;

namespace Notify.Delivery.Tests;

/// <summary>Queued email deliveries written through the store, as a planner leaves them, for tests that run no planner.</summary>
internal static class QueuedEmails
{
    /// <summary>An accepted email notification to Ann, created <paramref name="acceptedAgo"/> ago, with its queued delivery.</summary>
    public static async Task<(Notification Notification, ChannelDelivery Delivery)> AddAsync(
        IServiceProvider services, Guid tenantId, TimeSpan acceptedAgo = default, string? traceParent = null, DateTimeOffset? deliverAt = null)
    {
        var (id, createdAt) = UuidV7.New(new ManualClock(DateTimeOffset.UtcNow - acceptedAgo));
        var notification = new Notification
        {
            Id = id, TenantId = tenantId, TemplateKey = "welcome", TemplateVersion = 1, Category = "transactional", Priority = "normal",
            UserId = "ann", Channels = ["email"], Status = NotificationStatus.Accepted, CreatedAt = createdAt, UpdatedAt = createdAt,
        };
        var delivery = new ChannelDelivery
        {
            Id = Guid.CreateVersion7(), TenantId = tenantId, NotificationId = id, Channel = Channels.Email, Status = DeliveryStatus.Queued,
            Address = "ann@example.com", CreatedAt = createdAt, UpdatedAt = createdAt, TraceParent = traceParent, DeliverAt = deliverAt,
            Content = JsonSerializer.Serialize(new RenderedMessage(Channels.Email, "en", Subject: "Welcome", Html: "<p>Hi Ann</p>"), JsonSerializerOptions.Web),
        };
        await using var scope = services.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<NotificationStore>();
        await store.AcceptAsync([notification], null, default);
        await store.AdvanceAsync(notification, NotificationStatus.Processing, default);
        store.Db.Deliveries.Add(delivery);
        await store.Db.SaveChangesAsync();
        return (notification, delivery);
    }
}
