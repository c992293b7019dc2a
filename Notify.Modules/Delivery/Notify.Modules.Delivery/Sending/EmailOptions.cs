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
    public int Connections { get; set; } = 4;

    /// <summary>Deliveries claimed per round trip.</summary>
    public int BatchSize { get; set; } = 20;

    /// <summary>How long a claimed delivery stays with its sender; after that a crashed sender's delivery is claimed again.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long the sender waits when nothing was due.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The wait after the first transient failure; it doubles with every further attempt (with jitter) up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Attempts before transient failures count as a permanent one.</summary>
    public int MaxAttempts { get; set; } = 8;
}
