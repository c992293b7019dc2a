using System.Text.Json;
using Notify.Modules.Preferences.Features;

namespace Notify.Modules.Preferences.Domain;

/// <summary>A person a tenant notifies, known by the tenant's own id for them.</summary>
internal sealed class Recipient
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    /// <summary>The client's id for the user.</summary>
    public required string UserId { get; init; }
    /// <summary>Lower-cased, so suppressions and lookups match however the client wrote it.</summary>
    public string? Email { get; set; }
    public string? Phone { get; set; }
    public string? Locale { get; set; }
    public string? TimeZone { get; set; }
    public string? WebhookUrl { get; set; }
    public JsonDocument? Properties { get; set; }
    public UserPreferences Preferences { get; set; } = UserPreferences.Empty;
    /// <summary>From one sequence for the whole schema, taken under the row's lock: caches keep the highest they saw.</summary>
    public long Revision { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
    public List<Device> Devices { get; init; } = [];
    public List<Unsubscribe> Unsubscribes { get; init; } = [];
}

internal sealed class Device
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public Guid RecipientId { get; init; }
    public required string Kind { get; init; }
    public required string Token { get; init; }
    public string? P256dh { get; set; }
    public string? Auth { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
}

internal sealed class Unsubscribe
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public Guid RecipientId { get; init; }
    public required string Category { get; init; }
    public required string Reason { get; set; }
    public string? Feedback { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>An address nothing is sent to any more (hard bounce, complaint, operator).</summary>
internal sealed class Suppression
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    /// <summary>Lower-cased email address or E.164 phone number.</summary>
    public required string Address { get; init; }
    public required string Reason { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

internal sealed class TenantDefaultsRow
{
    public Guid TenantId { get; init; }
    public TenantDefaults Document { get; set; } = TenantDefaults.Empty;
    public long Revision { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

internal static class UnsubscribeReasons
{
    public const string UserRequest = "user_request";
    public const string BounceLimit = "bounce_limit";
    public const string Complaint = "complaint";
    public const string AdminAction = "admin_action";

    public static readonly IReadOnlyList<string> All = [UserRequest, BounceLimit, Complaint, AdminAction];
}

internal static class DeviceKinds
{
    public const string Fcm = "fcm";
    public const string Apns = "apns";
    public const string WebPush = "webpush";

    public static readonly IReadOnlyList<string> All = [Fcm, Apns, WebPush];
}
