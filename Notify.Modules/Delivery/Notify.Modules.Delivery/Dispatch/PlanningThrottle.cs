using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Delivery.Contracts;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Features.SendNotification;
using Notify.Modules.Preferences.Contracts;
using Npgsql;

namespace Notify.Modules.Delivery.Dispatch;

/// <summary>Backpressure between planning and sending (<c>Notify:Delivery</c>).</summary>
internal sealed class PlanningOptions
{
    public const string Section = "Notify:Delivery";

    /// <summary>
    /// Due deliveries waiting for a sender at which the planner stops taking requested notifications (critical ones
    /// excepted) until the senders have caught up; 0 switches the throttle off.
    /// </summary>
    public int MaxDueBacklog { get; set; } = 2_000;
}

/// <summary>
/// Keeps planning at most <see cref="PlanningOptions.MaxDueBacklog"/> due deliveries ahead of sending. Planning a backlog
/// is cheaper per message than sending it, so unchecked the planner takes the machine's CPU to queue deliveries while the
/// senders, whose every message waits on the SMTP server and the database, starve; and a plan made long before its send
/// reads preferences that may have changed since. While the senders have enough due work, requested notifications stay in
/// their RabbitMQ queues. Critical notifications are never held back.
/// </summary>
internal sealed class PlanningThrottle(NpgsqlDataSource dataSource, IOptions<PlanningOptions> options, TimeProvider clock, ILogger<PlanningThrottle> logger)
    : BackgroundService, IIntegrationEventThrottle<NotificationRequestedIntegrationEvent>
{
    // Counting up to the limit reads that many index entries and rows: twice a second is often enough to keep the
    // senders fed (the limit is seconds of their work) at a fraction of the cost.
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);
    private static readonly string CriticalQueue = $"{NotificationPlanner.Queue}.{SendChecks.Name(NotificationPriority.Critical)}";
    private readonly int _limit = options.Value.MaxDueBacklog;
    private volatile TaskCompletionSource _open = Opened();

    public ValueTask WaitAsync(string queue, CancellationToken cancellationToken) =>
        queue == CriticalQueue || _open.Task.IsCompleted
            ? ValueTask.CompletedTask
            : new ValueTask(_open.Task.WaitAsync(cancellationToken));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_limit <= 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var full = false;
                try
                {
                    full = await DueBacklogAsync(stoppingToken) >= _limit;
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Without a figure the planner runs: holding it back could only delay, never protect, anything.
                    logger.LogDebug(ex, "Counting the due deliveries failed; planning goes on");
                }

                if (!full)
                {
                    _open.TrySetResult();
                }
                else if (_open.Task.IsCompleted)
                {
                    _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _open.TrySetResult();
        }
    }

    /// <summary>Due deliveries waiting for a sender, counted up to the limit only (on the partial index of queued ones).</summary>
    private async Task<long> DueBacklogAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT count(*) FROM (
                SELECT 1 FROM delivery.deliveries
                WHERE status = '{DeliveryStatus.Queued}' AND coalesce(deliver_at, created_at) <= @now
                LIMIT @limit) due
            """);
        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        command.Parameters.AddWithValue("limit", _limit);
        return (long)(await command.ExecuteScalarAsync(ct) ?? 0L);
    }

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }
}
