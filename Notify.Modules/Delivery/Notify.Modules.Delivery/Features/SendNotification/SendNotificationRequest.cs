using System.Text.Json;
using FastEndpoints;

namespace Notify.Modules.Delivery.Features.SendNotification;

/// <summary>Send a published template to one or more recipients.</summary>
public sealed record SendNotificationRequest
{
    public const string IdempotencyHeader = "Idempotency-Key";

    /// <summary>The template to send (it must be published).</summary>
    public string? TemplateKey { get; init; }

    /// <summary>Up to 100 recipients: stored users by id, or inline addresses for one-off sends.</summary>
    public IReadOnlyList<SendRecipient>? Recipients { get; init; }

    /// <summary>The template's variables (a JSON object).</summary>
    public JsonElement? Data { get; init; }

    /// <summary>Narrows the template's channels; absent means all of them.</summary>
    public IReadOnlyList<string>? Channels { get; init; }

    /// <summary>Overrides the template's category.</summary>
    public string? Category { get; init; }

    /// <summary>critical, high, normal (the default), low or bulk.</summary>
    public string? Priority { get; init; }

    /// <summary>Send at this time instead of now.</summary>
    public DateTimeOffset? ScheduledFor { get; init; }

    /// <summary>Your own data about the send (a JSON object), stored with it and queryable.</summary>
    public JsonElement? Metadata { get; init; }

    /// <summary>A repeat with the same key gets the first answer and creates nothing.</summary>
    [FromHeader(IdempotencyHeader, IsRequired = false)]
    public string? IdempotencyKey { get; init; }
}

/// <summary>A stored recipient (<see cref="UserId"/>) or the addresses of a one-off send, not both.</summary>
public sealed record SendRecipient
{
    public string? UserId { get; init; }
    public string? Email { get; init; }
    public string? Phone { get; init; }
    public string? Locale { get; init; }
    public string? TimeZone { get; init; }
}

/// <summary>One notification per recipient, in the order of the request.</summary>
public sealed record SendNotificationResponse(IReadOnlyList<AcceptedNotification> Notifications);

/// <summary>An accepted notification.</summary>
public sealed record AcceptedNotification(Guid Id, string? UserId, string? Email, string? Phone, string Status);
