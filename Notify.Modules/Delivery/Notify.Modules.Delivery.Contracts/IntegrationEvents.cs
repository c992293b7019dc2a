using Notify.Modules.Abstractions.Messaging;

namespace Notify.Modules.Delivery.Contracts;

/// <summary>A send was accepted for one recipient; the Worker plans, renders and creates its deliveries.</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="NotificationId">The notification (one per recipient of the send).</param>
/// <param name="CreatedAt">When it was accepted; with the id, the notification's key in its monthly partition.</param>
/// <param name="Priority">The notification's priority, lower-case (<c>critical</c> … <c>bulk</c>).</param>
/// <param name="ScheduledFor">When the client asked for it to go out; null for now.</param>
public sealed record NotificationRequestedIntegrationEvent(
    Guid TenantId, Guid NotificationId, DateTimeOffset CreatedAt, string Priority, DateTimeOffset? ScheduledFor) : IIntegrationEvent
{
    /// <inheritdoc />
    public static string EventType => "delivery.notification.requested.v1";
}

/// <summary>A notification was cancelled before it was sent.</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="NotificationId">The notification.</param>
/// <param name="CancelledAt">When.</param>
public sealed record NotificationCancelledIntegrationEvent(Guid TenantId, Guid NotificationId, DateTimeOffset CancelledAt) : IIntegrationEvent
{
    /// <inheritdoc />
    public static string EventType => "delivery.notification.cancelled.v1";
}
