namespace Notify.Modules.Webhooks;

/// <summary>Operator settings, section <c>Notify:Webhooks</c>.</summary>
internal sealed class WebhookOptions
{
    public const string Section = "Notify:Webhooks";

    /// <summary>
    /// Lets endpoints point at loopback, private, link-local and metadata addresses. Off in production
    /// (SSRF protection); the AppHost's development run turns it on so a receiver on localhost works.
    /// </summary>
    public bool AllowPrivateAddresses { get; set; }

    /// <summary>
    /// Waits before each retry; the first attempt is immediate, so attempts = this list's length + 1. Empty means
    /// <see cref="DefaultRetrySchedule"/> (a configured list replaces it rather than being appended to it).
    /// </summary>
    public List<TimeSpan> RetrySchedule { get; set; } = [];

    /// <summary>Immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 27 hours, enough to ride out a day's outage.</summary>
    public static readonly IReadOnlyList<TimeSpan> DefaultRetrySchedule =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    public IReadOnlyList<TimeSpan> EffectiveRetrySchedule => RetrySchedule.Count > 0 ? RetrySchedule : DefaultRetrySchedule;

    /// <summary>Each wait is stretched or shrunk by up to this fraction, so retries of many events to one endpoint spread out.</summary>
    public double RetryJitter { get; set; } = 0.1;

    /// <summary>How long one attempt (connect, send, read the response) may take.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Attempts in flight to one endpoint at a time, so a slow endpoint holds only its own slots.</summary>
    public int MaxConcurrencyPerEndpoint { get; set; } = 16;

    /// <summary>Attempts in flight per Worker process.</summary>
    public int MaxConcurrency { get; set; } = 256;

    /// <summary>Failed attempts in a row after which an endpoint is disabled.</summary>
    public int DisableAfterConsecutiveFailures { get; set; } = 20;

    /// <summary>How often the Worker looks for due deliveries when it has nothing in hand.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long the previous secret keeps signing after a rotation.</summary>
    public TimeSpan SecretRotationOverlap { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How much of a response body the attempt log keeps; the rest is never read.</summary>
    public int ResponseBodyLimit { get; set; } = 4096;

    /// <summary>
    /// How long a claimed delivery stays invisible to other Workers: long enough for a queued attempt to
    /// wait for its endpoint's slot and run out its timeout; after it, a crashed Worker's claims are retried.
    /// </summary>
    public TimeSpan ClaimLease => (AttemptTimeout * 3) + TimeSpan.FromSeconds(30);
}
