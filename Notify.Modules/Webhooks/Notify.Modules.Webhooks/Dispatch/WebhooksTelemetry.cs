using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Notify.Modules.Webhooks.Dispatch;

/// <summary>Traces and metrics of webhook attempts (exported by the service defaults, which listen to <c>Notify.*</c>).</summary>
internal static class WebhooksTelemetry
{
    public const string Name = "Notify.Webhooks";
    public static readonly ActivitySource Source = new(Name);
    private static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Attempts = Meter.CreateCounter<long>(
        "notify.webhooks.attempts", "{attempt}", "Webhook attempts, by outcome (succeeded, failed).");

    public static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(
        "notify.webhooks.attempt.duration", "ms", "How long webhook attempts took, including failed ones.");

    public static void Record(AttemptOutcome outcome)
    {
        var tag = new KeyValuePair<string, object?>("outcome", outcome.Succeeded ? "succeeded" : "failed");
        Attempts.Add(1, tag);
        Duration.Record(outcome.DurationMs, tag);
    }
}
