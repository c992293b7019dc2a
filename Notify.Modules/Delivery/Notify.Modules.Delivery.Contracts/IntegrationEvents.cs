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

/// <summary>
/// A notification or one of its deliveries changed status (accepted, scheduled, sent, failed, cancelled, skipped, …),
/// written with the change itself. For Analytics and anyone else who follows a notification's life.
/// </summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="NotificationId">The notification.</param>
/// <param name="DeliveryId">The delivery, when the change is about one channel.</param>
/// <param name="Channel">The delivery's channel, when the change is about one channel.</param>
/// <param name="Status">The status reached: accepted, scheduled, sent, delivered, failed, cancelled or skipped.</param>
/// <param name="UserId">The recipient's user id; null for a one-off send to inline addresses.</param>
/// <param name="TemplateKey">The template sent.</param>
/// <param name="Metadata">The client's metadata of the send (a JSON object), if any.</param>
/// <param name="At">When the status changed.</param>
public sealed record NotificationStatusChangedIntegrationEvent(
    Guid TenantId, Guid NotificationId, Guid? DeliveryId, string? Channel, string Status, string? UserId, string TemplateKey,
    System.Text.Json.JsonElement? Metadata, DateTimeOffset At) : IIntegrationEvent
{
    /// <inheritdoc />
    public static string EventType => "delivery.notification.status-changed.v1";
}
