namespace Notify.Modules.Delivery.Sending;

/// <summary>Email sending (<c>Notify:Email</c>); the SMTP server itself is the <c>smtp</c> connection string (<c>smtp://host:port</c>).</summary>
internal sealed class EmailOptions
{
    public const string Section = "Notify:Email";

    /// <summary>The From header of every message.</summary>
    public string From { get; set; } = "Notify <notify@localhost>";

    /// <summary>
    /// SMTP connections each Worker sends over at once, each claiming its own batches; one connection waits for the
    /// server's answer to every message, so throughput grows with this until the server or the database is the limit.
    /// </summary>
    public int Connections { get; set; } = 8;

    /// <summary>Deliveries claimed per round trip.</summary>
    public int BatchSize { get; set; } = 20;

    /// <summary>How long a claimed delivery stays with its sender; after that a crashed sender's delivery is claimed again.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long the sender waits when nothing was due.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The wait after the first round of failed tries; it doubles with every further round (with jitter) up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Attempts before transient failures count as a permanent one. Every try counts, the in-process retries too: the
    /// default is 8 rounds of 3 tries, the waits between rounds growing from 30 s to about half an hour.
    /// </summary>
    public int MaxAttempts { get; set; } = 24;

    /// <summary>
    /// In-process retries of a transient failure (connection refused or reset, a 4xx reply) right after it, before the
    /// delivery is rescheduled for the long wait; 0 turns them off.
    /// </summary>
    public int RetryAttempts { get; set; } = 2;

    /// <summary>The first in-process retry's delay; it doubles per retry, with jitter, up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(2);
}
