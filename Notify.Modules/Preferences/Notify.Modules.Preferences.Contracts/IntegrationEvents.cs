using Notify.Modules.Abstractions.Messaging;

namespace Notify.Modules.Preferences.Contracts;

/// <summary>A recipient unsubscribed from a category (or an operator or the bounce policy did it for them).</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="UserId">The recipient.</param>
/// <param name="Category">The category unsubscribed from.</param>
/// <param name="Reason"><c>user_request</c>, <c>bounce_limit</c>, <c>complaint</c> or <c>admin_action</c>.</param>
/// <param name="ExpiresAt">When a temporary unsubscribe ends; null for good.</param>
/// <param name="Feedback">What the recipient said, if anything.</param>
public sealed record RecipientUnsubscribedIntegrationEvent(
    Guid TenantId, string UserId, string Category, string Reason, DateTimeOffset? ExpiresAt, string? Feedback) : IIntegrationEvent
{
    /// <inheritdoc />
    public static string EventType => "preferences.recipient.unsubscribed.v1";
}

/// <summary>A recipient's personal data was erased; modules holding history about them anonymize it.</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="UserId">The recipient's id (the only trace of them that remains).</param>
public sealed record RecipientErasedIntegrationEvent(Guid TenantId, string UserId) : IIntegrationEvent
{
    /// <inheritdoc />
    public static string EventType => "preferences.recipient.erased.v1";
}
