namespace Notify.Modules.Delivery.Providers;

/// <summary>
/// A tenant's account with a provider for one channel. Deliveries of the channel try the enabled providers in priority
/// order (lowest first), each behind its own timeout, retries, circuit breaker and rate limit.
/// </summary>
internal sealed class Provider
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public required string Channel { get; init; }

    /// <summary>The adapter, one of <see cref="ProviderKinds"/>.</summary>
    public required string Kind { get; init; }

    public required string Name { get; set; }

    /// <summary>Lower goes first.</summary>
    public int Priority { get; set; }

    public bool Enabled { get; set; }

    /// <summary>At most this many requests in any second, across every Worker (null: no limit).</summary>
    public int? RatePerSecond { get; set; }

    /// <summary>At most this many requests in any minute, across every Worker (null: no limit).</summary>
    public int? RatePerMinute { get; set; }

    public int TimeoutMs { get; set; }

    /// <summary>What one message costs through this provider (in the tenant's currency), recorded on each delivery it sends.</summary>
    public decimal? CostPerMessage { get; set; }

    /// <summary>Circuit breaker: failures (of at least this many calls, half of them failing) that open the circuit…</summary>
    public int BreakerFailures { get; set; }

    /// <summary>…and how long it stays open before one call is let through to test the provider again.</summary>
    public int BreakSeconds { get; set; }

    /// <summary>The adapter's settings (base URL, sender number, templates …), as JSON.</summary>
    public required string Settings { get; set; }

    /// <summary>The credentials as JSON, encrypted with ASP.NET Data Protection (<see cref="ProviderCredentials"/>); never returned.</summary>
    public string? ProtectedCredentials { get; set; }

    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>The adapters there are, by channel.</summary>
internal static class ProviderKinds
{
    /// <summary>Development sink: records what would be sent (readable through the API) and sends nothing. Any channel.</summary>
    public const string Sink = "sink";

    /// <summary>Email through SendGrid's v3 Mail Send API, instead of the deployment's SMTP server.</summary>
    public const string SendGrid = "sendgrid";

    /// <summary>SMS through Twilio's Messages API (or anything speaking it).</summary>
    public const string Twilio = "twilio";

    /// <summary>SMS through any HTTP gateway: URL, method and JSON body from templates.</summary>
    public const string HttpSms = "http_sms";

    /// <summary>Push to Android, iOS and web apps through Firebase Cloud Messaging's HTTP v1 API (service-account OAuth).</summary>
    public const string Fcm = "fcm";

    /// <summary>Push to browsers: Web Push with VAPID and RFC 8291 payload encryption.</summary>
    public const string WebPush = "webpush";

    /// <summary>The webhook channel: the rendered body POSTed to the recipient's URL, signed like Notify's webhooks.</summary>
    public const string Webhook = "webhook";

    public static readonly IReadOnlyDictionary<string, string[]> ByChannel = new Dictionary<string, string[]>
    {
        ["email"] = [SendGrid, Sink],
        ["sms"] = [Twilio, HttpSms, Sink],
        ["push"] = [Fcm, WebPush, Sink],
        ["webhook"] = [Webhook, Sink],
    };

    /// <summary>Whether a provider of <paramref name="kind"/> can reach a push device of <paramref name="deviceKind"/> (the sink takes any).</summary>
    public static bool Serves(string kind, string? deviceKind) => kind == Sink || deviceKind is null || kind == deviceKind;
}

/// <summary>What a development sink provider recorded instead of sending.</summary>
internal sealed class SinkMessage
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public Guid ProviderId { get; init; }
    public Guid DeliveryId { get; init; }
    public required string Channel { get; init; }
    public string? Address { get; init; }
    public required string Content { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>
/// One call to a provider and how it went: the provider health figures (success rate, latency over 1 h, 24 h and 7 d)
/// are read from these, for the API and for Analytics. Kept 8 days.
/// </summary>
internal sealed class ProviderAttempt
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public Guid ProviderId { get; init; }
    public bool Succeeded { get; init; }
    public int LatencyMs { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>A Data Protection key ring entry, kept in the database so every API and Worker replica shares the keys.</summary>
internal sealed class DataProtectionKey
{
    public int Id { get; init; }
    public string? FriendlyName { get; init; }
    public required string Xml { get; init; }
}
