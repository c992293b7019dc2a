namespace Notify.Modules.Webhooks.Contracts;

/// <summary>
/// The event types tenants subscribe their webhook endpoints to. An endpoint's filter holds these names,
/// <c>prefix.*</c> (e.g. <c>notification.*</c>) or <c>*</c>.
/// </summary>
public static class WebhookEventTypes
{
    /// <summary>A send request was accepted.</summary>
    public const string NotificationAccepted = "notification.accepted";
    /// <summary>A send was accepted with a future <c>scheduledFor</c>; it is released at that time.</summary>
    public const string NotificationScheduled = "notification.scheduled";
    /// <summary>No channel is left to carry the notification (preferences, caps, no address), so nothing is sent.</summary>
    public const string NotificationSkipped = "notification.skipped";
    /// <summary>A delivery was handed to its provider.</summary>
    public const string NotificationSent = "notification.sent";
    /// <summary>The provider confirmed delivery.</summary>
    public const string NotificationDelivered = "notification.delivered";
    /// <summary>A delivery failed for good.</summary>
    public const string NotificationFailed = "notification.failed";
    /// <summary>The address bounced.</summary>
    public const string NotificationBounced = "notification.bounced";
    /// <summary>The recipient opened the message.</summary>
    public const string NotificationOpened = "notification.opened";
    /// <summary>The recipient clicked a tracked link.</summary>
    public const string NotificationClicked = "notification.clicked";
    /// <summary>The notification was cancelled before it was sent.</summary>
    public const string NotificationCancelled = "notification.cancelled";
    /// <summary>A recipient unsubscribed.</summary>
    public const string RecipientUnsubscribed = "recipient.unsubscribed";
    /// <summary>A data export is ready to download.</summary>
    public const string ExportCompleted = "export.completed";
    /// <summary>Sent by <c>POST /v1/webhooks/{id}/test</c>, to that endpoint only.</summary>
    public const string WebhookTest = "webhook.test";
    /// <summary>One of the tenant's webhook endpoints was disabled (410 Gone, or too many failures in a row).</summary>
    public const string WebhookDisabled = "webhook.disabled";

    /// <summary>Every type, in documentation order.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        NotificationAccepted, NotificationScheduled, NotificationSkipped, NotificationSent, NotificationDelivered, NotificationFailed, NotificationBounced,
        NotificationOpened, NotificationClicked, NotificationCancelled, RecipientUnsubscribed, ExportCompleted,
        WebhookTest, WebhookDisabled,
    ];
}
