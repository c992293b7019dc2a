namespace Notify.Modules.Delivery.Domain;

/// <summary>
/// Statuses only move forward: each has a rank, and every update is written <c>WHERE rank(status) &lt; rank(new)</c>,
/// so a late or redelivered message can never move a notification back (e.g. from sent to queued).
/// </summary>
/// <remarks>
/// One exception, and only through an explicit operator action: retrying a dead letter
/// (<c>POST /v1/dead-letters/{id}/retry</c>) moves a <c>failed</c> notification back to <c>processing</c>, because a
/// new delivery is queued for it. The failed delivery itself stays failed (the retry is a new delivery row), and the
/// timeline records <see cref="TimelineEvents.RetriedByOperator"/>; no automatic path ever does this.
/// </remarks>
internal static class NotificationStatus
{
    public const string Accepted = "accepted";
    public const string Scheduled = "scheduled";
    public const string Processing = "processing";
    public const string Sent = "sent";
    public const string Delivered = "delivered";
    public const string Skipped = "skipped";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static readonly IReadOnlyDictionary<string, int> Ranks = new Dictionary<string, int>
    {
        [Accepted] = 10,
        [Scheduled] = 10,
        [Processing] = 20,
        [Sent] = 30,
        [Delivered] = 40,
        // Final: nothing moves a notification out of these.
        [Skipped] = 100,
        [Failed] = 100,
        [Cancelled] = 100,
    };

    public static int Rank(string status) => Ranks[status];

    /// <summary>Before anything went out: the notification can still be cancelled.</summary>
    public static bool IsCancellable(string status) => Rank(status) < Rank(Sent);

    /// <summary>SQL for the rank of the <c>status</c> column, built from <see cref="Ranks"/> so code and SQL never disagree.</summary>
    public static string RankSql { get; } = StatusRanks.Sql(Ranks);
}

internal static class DeliveryStatus
{
    public const string Queued = "queued";
    public const string Sent = "sent";
    public const string Delivered = "delivered";
    public const string Opened = "opened";
    public const string Clicked = "clicked";
    public const string Failed = "failed";
    public const string Bounced = "bounced";
    public const string Complained = "complained";
    public const string Cancelled = "cancelled";

    public static readonly IReadOnlyDictionary<string, int> Ranks = new Dictionary<string, int>
    {
        [Queued] = 10,
        [Sent] = 30,
        [Delivered] = 40,
        [Opened] = 50,
        [Clicked] = 60,
        [Failed] = 100,
        [Bounced] = 100,
        [Complained] = 100,
        [Cancelled] = 100,
    };

    public static int Rank(string status) => Ranks[status];

    /// <summary>Statuses a delivery can still move on from (queued, or on its way): all but the final ones.</summary>
    public static readonly string[] Live = [.. Ranks.Where(r => r.Value < Ranks[Failed]).Select(r => r.Key)];

    public static string RankSql { get; } = StatusRanks.Sql(Ranks);

    /// <summary>
    /// <c>status = 'queued'</c> of the delivery aliased <paramref name="alias"/>, for statements that find their deliveries
    /// by primary key and only check that they are still queued. Written so that it does not match the predicate of the
    /// due index (<c>ix_deliveries_due</c>, queued deliveries only), which PostgreSQL could otherwise walk whole instead of
    /// looking the keys up — and does, once a VACUUM or ANALYZE ran while the queue was empty: the index's statistics
    /// then say it is empty, so the walk looks cheaper than a lookup, and costs the whole backlog per statement later.
    /// </summary>
    public static string StillQueuedSql(string alias) => $"({alias}.status = '{Queued}') IS TRUE";
}

/// <summary>Event types of the timeline (besides the statuses themselves).</summary>
internal static class TimelineEvents
{
    public const string Accepted = "accepted";
    public const string Scheduled = "scheduled";
    public const string Cancelled = "cancelled";

    /// <summary>A scheduled send's time came and it was handed to the planner (<see cref="Scheduling.ScheduledRelease"/>).</summary>
    public const string Released = "released";

    /// <summary>A channel was queued for delivery (detail: when, if delayed).</summary>
    public const string Queued = "queued";

    /// <summary>A candidate channel will not carry the notification (detail: the preference plan's reason, or the cap reached).</summary>
    public const string ChannelSkipped = "channel_skipped";

    /// <summary>A channel's content could not be rendered (detail: why).</summary>
    public const string RenderFailed = "render_failed";

    /// <summary>No channel is left to carry the notification.</summary>
    public const string Skipped = "skipped";

    /// <summary>A delivery was handed to its provider (detail: the provider's message id).</summary>
    public const string Sent = "sent";

    /// <summary>An attempt failed transiently and the delivery was rescheduled (detail: the error and the next attempt's time).</summary>
    public const string AttemptFailed = "attempt_failed";

    /// <summary>A delivery failed for good: a permanent error, or transient ones until the attempts ran out (detail: the error).</summary>
    public const string Failed = "failed";

    /// <summary>An operator retried a dead letter: a new delivery (this event's delivery id) is queued (detail: the dead letter and the failed delivery).</summary>
    public const string RetriedByOperator = "retried_by_operator";
}

internal static class DeadLetterStatus
{
    /// <summary>Waiting for an operator.</summary>
    public const string Open = "open";

    /// <summary>Sent back to its channel as a new attempt.</summary>
    public const string Retried = "retried";

    /// <summary>Closed by an operator without another attempt.</summary>
    public const string Resolved = "resolved";
}

internal static class StatusRanks
{
    public static string Sql(IReadOnlyDictionary<string, int> ranks) =>
        "CASE status " + string.Concat(ranks.Select(r => $"WHEN '{r.Key}' THEN {r.Value} ")) + "END";
}
