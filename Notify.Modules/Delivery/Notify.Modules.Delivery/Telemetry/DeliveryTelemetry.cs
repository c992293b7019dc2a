using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Notify.Modules.Delivery.Telemetry;

/// <summary>
/// The delivery pipeline's spans and metrics (<c>Notify.Delivery</c>; the service defaults export every <c>Notify.*</c>
/// source and meter). A send span joins the trace its delivery was planned in, which continues the API request's
/// trace through the outbox and the broker, so one trace shows accept → relay → plan → provider send.
/// </summary>
internal static class DeliveryTelemetry
{
    public const string Name = "Notify.Delivery";
    public static readonly ActivitySource Source = new(Name);
    private static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Accepted = Meter.CreateCounter<long>(
        "notify.delivery.accepted", "{notification}", "Notifications accepted through the API.");

    public static readonly Counter<long> Sent = Meter.CreateCounter<long>(
        "notify.delivery.sent", "{delivery}", "Deliveries handed to their provider (SMTP accepted, in-app stored).");

    public static readonly Counter<long> Failed = Meter.CreateCounter<long>(
        "notify.delivery.failed", "{delivery}", "Deliveries that failed for good.");

    public static readonly Histogram<double> AcceptToSent = Meter.CreateHistogram<double>(
        "notify.delivery.accept_to_sent", "s", "Time from the notification's acceptance to its delivery being sent.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600] });

    /// <summary>A delivery's send span, child of the planning span its <paramref name="traceParent"/> names (a new trace without one).</summary>
    public static Activity? StartSend(string name, Guid deliveryId, Guid notificationId, string channel, string? traceParent)
    {
        var parent = traceParent is not null && ActivityContext.TryParse(traceParent, null, out var context) ? context : default;
        var activity = Source.StartActivity(name, ActivityKind.Client, parent);
        activity?.SetTag("notify.delivery.id", deliveryId.ToString());
        activity?.SetTag("notify.notification.id", notificationId.ToString());
        activity?.SetTag("notify.channel", channel);
        return activity;
    }

    public static void RecordAccepted(string priority, int count) =>
        Accepted.Add(count, new KeyValuePair<string, object?>("priority", priority));

    public static void RecordSent(string channel, DateTimeOffset acceptedAt, DateTimeOffset sentAt)
    {
        var tag = new KeyValuePair<string, object?>("channel", channel);
        Sent.Add(1, tag);
        AcceptToSent.Record(Math.Max(0, (sentAt - acceptedAt).TotalSeconds), tag);
    }

    public static void RecordFailed(string channel) =>
        Failed.Add(1, new KeyValuePair<string, object?>("channel", channel));
}
