using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Notify.Modules.Abstractions.Messaging;

internal static class MessagingTelemetry
{
    public const string Name = "Notify.Messaging";
    public static readonly ActivitySource Source = new(Name);
    private static readonly Meter Meter = new(Name);
    public static readonly Counter<long> Published = Meter.CreateCounter<long>("notify.outbox.published", "{message}", "Outbox messages published to the broker.");
    public static readonly Counter<long> Consumed = Meter.CreateCounter<long>("notify.inbox.consumed", "{message}", "Messages handled by consumers.");
    public static readonly Counter<long> Duplicates = Meter.CreateCounter<long>("notify.inbox.duplicates", "{message}", "Redelivered messages the inbox dropped.");

    public static ActivityContext ParentFrom(string? traceParent, string? traceState) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, traceState, out var context) ? context : default;
}
