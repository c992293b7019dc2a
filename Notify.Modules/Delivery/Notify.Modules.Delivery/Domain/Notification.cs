using System.Text.Json;

namespace Notify.Modules.Delivery.Domain;

/// <summary>One send to one recipient. Its key is (id, created_at): the table is partitioned by month on created_at.</summary>
internal sealed class Notification
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public required string TemplateKey { get; init; }
    public int TemplateVersion { get; init; }
    public required string Category { get; init; }
    public required string Priority { get; init; }

    /// <summary>The client's id of a stored recipient; null for a one-off send to <see cref="InlineRecipient"/>.</summary>
    public string? UserId { get; init; }

    /// <summary>Addresses of a one-off send (JSON: email, phone, locale, timeZone).</summary>
    public JsonDocument? InlineRecipient { get; init; }

    public JsonDocument? Data { get; init; }
    public JsonDocument? Metadata { get; init; }

    /// <summary>Candidate channels: the template's, narrowed by the request.</summary>
    public required string[] Channels { get; init; }

    public required string Status { get; set; }
    public DateTimeOffset? ScheduledFor { get; init; }

    /// <summary>
    /// When the scheduled-release job takes it: its <see cref="ScheduledFor"/> while it is <c>scheduled</c>, null from
    /// the moment it leaves that status. The job's due index is on this column alone, not on the status: an update that
    /// changes no indexed column stays on its page (HOT), and every notification's status changes twice on its way out.
    /// </summary>
    public DateTimeOffset? ReleaseAt { get; init; }

    public string? IdempotencyKey { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A notification on one channel (named so because <c>Delivery</c> is the module's namespace).</summary>
internal sealed class ChannelDelivery
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public Guid NotificationId { get; init; }
    public required string Channel { get; init; }
    public required string Status { get; set; }

    /// <summary>The notification's priority as a number (<see cref="Preferences.Contracts.NotificationPriority"/>: 0 critical … 4 bulk); senders claim lower first.</summary>
    public short Priority { get; init; }

    public string? Address { get; init; }
    public string? ProviderMessageId { get; set; }

    /// <summary>Push: the device it goes to (the Preferences contract's PushDevice as JSON: kind, token, web push keys); one delivery per device.</summary>
    public string? Device { get; init; }

    /// <summary>When it may go out (quiet hours, work hours, scheduled sends); null for now.</summary>
    public DateTimeOffset? DeliverAt { get; init; }

    public int Attempts { get; set; }

    /// <summary>While set and in the future, a sender holds this delivery (claimed, sending); a crashed sender's lease runs out and the delivery is claimed again.</summary>
    public DateTimeOffset? LeasedUntil { get; set; }

    /// <summary>
    /// When a sender was about to let the provider have the message (for email: the moment before the last byte of the
    /// SMTP data went out). Set on a queued delivery, it means the message may already be out: it is never sent again.
    /// </summary>
    public DateTimeOffset? HandedOverAt { get; set; }

    /// <summary>The provider that sent it (null for email over the deployment's SMTP server and for in-app).</summary>
    public Guid? ProviderId { get; set; }

    /// <summary>What sending it cost, from its provider's cost per message.</summary>
    public decimal? Cost { get; set; }

    /// <summary>The last attempt's error, if it failed.</summary>
    public string? LastError { get; set; }

    /// <summary>The rendered message (JSON of the Templates contract's RenderedMessage), rendered once so every attempt sends the same.</summary>
    public string? Content { get; init; }

    /// <summary>The W3C trace context of the planning that created it, so the send joins the notification's trace.</summary>
    public string? TraceParent { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>One row of a notification's timeline: a status change or a decision, of the notification or one delivery.</summary>
internal sealed class NotificationEvent
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public Guid NotificationId { get; init; }
    public Guid? DeliveryId { get; init; }
    public string? Channel { get; init; }
    public required string Type { get; init; }
    public string? Detail { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>A send request's <c>Idempotency-Key</c>, the hash of its body and the answer it got.</summary>
internal sealed class IdempotencyRecord
{
    public Guid TenantId { get; init; }
    public required string Key { get; init; }
    public required string RequestHash { get; init; }
    public int StatusCode { get; init; }
    public required string Response { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>
/// An in-app notification in a user's inbox. Its id is the in-app delivery's id, so a delivery lands in the inbox
/// at most once. Partitioned by month on created_at like the other high-volume tables.
/// </summary>
internal sealed class InboxItem
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public required string UserId { get; init; }
    public Guid NotificationId { get; init; }
    public required string Category { get; init; }
    public required string Title { get; init; }
    public required string Body { get; init; }
    public string? ActionUrl { get; init; }

    /// <summary>The notification's data, for clients that render their own UI.</summary>
    public JsonDocument? Data { get; init; }

    public DateTimeOffset? SeenAt { get; set; }
    public DateTimeOffset? ReadAt { get; set; }
    public DateTimeOffset? ArchivedAt { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>A delivery that failed for good (a permanent error, or transient ones until the attempts ran out), parked for an operator.</summary>
internal sealed class DeadLetter
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public Guid NotificationId { get; init; }
    public Guid DeliveryId { get; init; }

    /// <summary>With <see cref="DeliveryId"/>, the delivery's key in its monthly partition.</summary>
    public DateTimeOffset DeliveryCreatedAt { get; init; }

    public required string Channel { get; init; }
    public string? Address { get; init; }
    public required string Error { get; init; }
    public int Attempts { get; init; }

    /// <summary>The delivery's timeline at the time it failed (JSON array of its events), so the attempts can be inspected here.</summary>
    public required string History { get; init; }

    /// <summary><see cref="DeadLetterStatus"/>.</summary>
    public required string Status { get; set; }

    public string? Resolution { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
}
