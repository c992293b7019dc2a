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
    public string? Address { get; init; }
    public string? ProviderMessageId { get; set; }

    /// <summary>When it may go out (quiet hours, work hours, scheduled sends); null for now.</summary>
    public DateTimeOffset? DeliverAt { get; init; }

    public int Attempts { get; set; }

    /// <summary>While set and in the future, a sender holds this delivery (claimed, sending); a crashed sender's lease runs out and the delivery is claimed again.</summary>
    public DateTimeOffset? LeasedUntil { get; set; }

    /// <summary>The last attempt's error, if it failed.</summary>
    public string? LastError { get; set; }

    /// <summary>The rendered message (JSON of the Templates contract's RenderedMessage), rendered once so every attempt sends the same.</summary>
    public string? Content { get; init; }

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
