namespace Notify.Modules.Preferences.Contracts;

/// <summary>
/// What Delivery asks before it sends: for one recipient, which channels may carry a notification, when, and to
/// which address. Answers come from a cache (in process, then Redis) invalidated on every change in every process.
/// </summary>
public interface IRecipientPreferences
{
    /// <summary>The plan for one recipient, or null when <see cref="PlanRequest.UserId"/> names no recipient of the tenant.</summary>
    Task<RecipientPlan?> PlanAsync(PlanRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Counts one message against the recipient's frequency caps (per channel per hour and day, and overall),
    /// atomically across processes; says no, and until when, once a cap is reached. Critical priority and
    /// mandatory categories are not counted.
    /// </summary>
    Task<CapDecision> TryConsumeFrequencyCapAsync(CapRequest request, CancellationToken cancellationToken);

    /// <summary>Signed links for the recipient's preference center and for unsubscribing from <paramref name="category"/>.</summary>
    RecipientLinks LinksFor(Guid tenantId, string userId, string category);

    /// <summary>Stops all sending to <paramref name="address"/> (hard bounce, complaint); idempotent.</summary>
    Task SuppressAddressAsync(Guid tenantId, string address, SuppressionReason reason, CancellationToken cancellationToken);
}

/// <summary>Who is about to be notified, about what, and on which channels.</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="UserId">The client's id of a stored recipient; null for a one-off send to <paramref name="Inline"/>.</param>
/// <param name="Category">The template's (or overriding) category.</param>
/// <param name="Priority">The notification's priority.</param>
/// <param name="Channels">Candidate channels (the template's, narrowed by the request).</param>
/// <param name="Inline">Addresses for a one-off send; only tenant defaults and suppressions apply to them.</param>
public sealed record PlanRequest(
    Guid TenantId,
    string? UserId,
    string Category,
    NotificationPriority Priority,
    IReadOnlyList<string> Channels,
    InlineRecipient? Inline = null);

/// <summary>Addresses given with a one-off send instead of a stored recipient.</summary>
/// <param name="Email">Email address.</param>
/// <param name="Phone">E.164 phone number.</param>
/// <param name="Locale">BCP 47 locale.</param>
/// <param name="TimeZone">IANA time zone.</param>
public sealed record InlineRecipient(string? Email, string? Phone, string? Locale, string? TimeZone);

/// <summary>The decision for every candidate channel of one recipient.</summary>
/// <param name="UserId">The recipient's id; null for a one-off send.</param>
/// <param name="Locale">The recipient's locale, if known (templates fall back from it).</param>
/// <param name="TimeZone">The recipient's IANA time zone (UTC when unknown).</param>
/// <param name="Channels">One decision per candidate channel, in the order asked.</param>
public sealed record RecipientPlan(string? UserId, string? Locale, string TimeZone, IReadOnlyList<ChannelPlan> Channels);

/// <summary>The decision for one channel.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="Allowed">Whether to deliver on this channel (now, at <paramref name="DeliverAt"/>, or in a digest).</param>
/// <param name="Reason">Why, one of <see cref="PlanReasons"/>.</param>
/// <param name="DeliverAt">When quiet or work hours delay the message: the instant they end; null means now.</param>
/// <param name="Digest">When the recipient wants this category in a digest: its schedule; the message joins the digest instead of going out now.</param>
/// <param name="Address">Email address, phone number or webhook URL; null for push (see <paramref name="Devices"/>) and in-app.</param>
/// <param name="Devices">Push devices, for the push channel.</param>
public sealed record ChannelPlan(
    string Channel,
    bool Allowed,
    string Reason,
    DateTimeOffset? DeliverAt,
    DigestPlan? Digest,
    string? Address,
    IReadOnlyList<PushDevice> Devices);

/// <summary>The digest a message joins.</summary>
/// <param name="Frequency"><c>daily</c> or <c>weekly</c>.</param>
/// <param name="NextAt">The next time the digest goes out, in UTC.</param>
public sealed record DigestPlan(string Frequency, DateTimeOffset NextAt);

/// <summary>A push destination registered for a recipient.</summary>
/// <param name="Id">Notify's id of the device.</param>
/// <param name="Kind"><c>fcm</c>, <c>apns</c> or <c>webpush</c>.</param>
/// <param name="Token">The registration token, or for web push the subscription's endpoint URL.</param>
/// <param name="P256dh">Web push: the subscription's public key.</param>
/// <param name="Auth">Web push: the subscription's auth secret.</param>
public sealed record PushDevice(Guid Id, string Kind, string Token, string? P256dh, string? Auth);

/// <summary>Why a channel was allowed or not.</summary>
public static class PlanReasons
{
    /// <summary>Allowed by the preference layers (or nothing forbids it).</summary>
    public const string Allowed = "allowed";
    /// <summary>Allowed: the category cannot be switched off.</summary>
    public const string MandatoryCategory = "mandatory_category";
    /// <summary>Allowed: critical priority overrides preference settings.</summary>
    public const string CriticalPriority = "critical_priority";
    /// <summary>Not allowed: the recipient has no address (or device) for the channel.</summary>
    public const string NoAddress = "no_address";
    /// <summary>Not allowed: the address is on the suppression list.</summary>
    public const string Suppressed = "suppressed";
    /// <summary>Not allowed: the recipient unsubscribed from the category.</summary>
    public const string Unsubscribed = "unsubscribed";
    /// <summary>Not allowed: the tenant's default for the category and channel forbids it.</summary>
    public const string ForbiddenByTenantDefault = "forbidden_by_tenant_default";
    /// <summary>Not allowed: the recipient switched the channel off.</summary>
    public const string ForbiddenByUserChannel = "forbidden_by_user_channel";
    /// <summary>Not allowed: the recipient switched the channel off for the category.</summary>
    public const string ForbiddenByUserCategory = "forbidden_by_user_category";
}

/// <summary>One message about to go out to <paramref name="UserId"/> on <paramref name="Channel"/>.</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="UserId">The recipient.</param>
/// <param name="Channel">The channel.</param>
/// <param name="Category">The notification's category.</param>
/// <param name="Priority">The notification's priority.</param>
public sealed record CapRequest(Guid TenantId, string UserId, string Channel, string Category, NotificationPriority Priority);

/// <summary>The answer of a frequency-cap check.</summary>
/// <param name="Allowed">True when the message was counted and may go.</param>
/// <param name="Cap">The cap that was reached (e.g. <c>email per hour</c>), when not allowed.</param>
/// <param name="RetryAfter">When the reached cap's window ends.</param>
public sealed record CapDecision(bool Allowed, string? Cap, DateTimeOffset? RetryAfter);

/// <summary>Signed, expiring links a recipient opens without an API key.</summary>
/// <param name="PreferenceCenter">The recipient's preference center page.</param>
/// <param name="Unsubscribe">The unsubscribe page for one category; also the RFC 8058 one-click POST target.</param>
/// <param name="PreferenceCenterExpiresAt">When the preference center link stops working.</param>
/// <param name="UnsubscribeExpiresAt">When the unsubscribe link stops working.</param>
public sealed record RecipientLinks(Uri PreferenceCenter, Uri Unsubscribe, DateTimeOffset PreferenceCenterExpiresAt, DateTimeOffset UnsubscribeExpiresAt);

/// <summary>Why an address is suppressed.</summary>
public enum SuppressionReason
{
    /// <summary>The address does not exist.</summary>
    HardBounce,
    /// <summary>The recipient marked a message as spam.</summary>
    Complaint,
    /// <summary>Added by an operator.</summary>
    Manual,
}
