using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Notify.Modules.Webhooks.Dispatch;

/// <summary>
/// The Worker's send loop. It claims due deliveries from PostgreSQL (so retries survive restarts and several
/// Workers share the work), sends each with bounded concurrency per endpoint — a slow endpoint fills only its
/// own slots and is left out of the next claims, so healthy endpoints keep flowing — and records outcomes in
/// batches. A failed attempt is rescheduled by writing its next <c>next_attempt_at</c>; no timer holds it.
/// </summary>
internal sealed class WebhookDispatcher(
    DeliveryStore store,
    WebhookSender sender,
    IServiceScopeFactory scopes,
    IOptions<WebhookOptions> options,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    private const int RecordBatchSize = 500;

    private readonly ConcurrentDictionary<Guid, EndpointSlots> _endpoints = new();
    private readonly Channel<AttemptOutcome> _outcomes = Channel.CreateUnbounded<AttemptOutcome>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _wake = new(0);
    private readonly ConcurrentDictionary<Task, byte> _sending = new();
    private int _inFlight;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var recorder = Task.Run(() => RecordLoopAsync(settings), CancellationToken.None);
        try
        {
            await ClaimLoopAsync(settings, stoppingToken);
        }
        finally
        {
            // Attempts under way finish (each has its own timeout) and are recorded before the Worker stops;
            // if it is killed instead, their leases run out and they are sent again.
            await Task.WhenAll(_sending.Keys);
            _outcomes.Writer.Complete();
            await recorder;
        }
    }

    private async Task ClaimLoopAsync(WebhookOptions settings, CancellationToken stoppingToken)
    {
        var perEndpoint = Math.Max(1, settings.MaxConcurrencyPerEndpoint);
        var backoff = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimedCount = 0;
            var free = settings.MaxConcurrency - Volatile.Read(ref _inFlight);
            if (free > 0)
            {
                try
                {
                    // An endpoint with more than half its slots taken sits out this claim, so claims come in useful
                    // batches and no endpoint holds more than 1.5x its slots (the lease covers the queued ones).
                    var busy = _endpoints.Where(e => e.Value.Claimed > perEndpoint / 2).Select(e => e.Key).ToArray();
                    var claimed = await store.ClaimAsync(free, perEndpoint, busy, settings.ClaimLease, stoppingToken);
                    claimedCount = claimed.Count;
                    foreach (var delivery in claimed)
                    {
                        Start(delivery, perEndpoint);
                    }

                    backoff = TimeSpan.Zero;
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    backoff = TimeSpan.FromMilliseconds(Math.Min(5000, (backoff.TotalMilliseconds * 2) + 250));
                    logger.LogWarning(ex, "Claiming webhook deliveries failed; retrying in {Backoff}", backoff);
                    await Task.Delay(backoff, stoppingToken);
                    continue;
                }
            }

            if (claimedCount == 0 || claimedCount == free)
            {
                // Nothing due (or no capacity): wait for a finished attempt or the next poll.
                try
                {
                    await _wake.WaitAsync(claimedCount == 0 ? settings.PollInterval : Timeout.InfiniteTimeSpan, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private void Start(ClaimedDelivery delivery, int perEndpoint)
    {
        var slots = _endpoints.GetOrAdd(delivery.EndpointId, _ => new EndpointSlots(perEndpoint));
        Interlocked.Increment(ref slots.Claimed);
        Interlocked.Increment(ref _inFlight);
        var task = Task.Run(async () =>
        {
            await slots.Gate.WaitAsync();
            try
            {
                var outcome = await sender.SendAsync(delivery);
                _outcomes.Writer.TryWrite(outcome);
            }
            catch (Exception ex)
            {
                // Not an HTTP failure (those are outcomes): the lease will bring the delivery back.
                logger.LogError(ex, "Sending webhook delivery {DeliveryId} failed unexpectedly", delivery.Id);
            }
            finally
            {
                slots.Gate.Release();
                Interlocked.Decrement(ref slots.Claimed);
                Interlocked.Decrement(ref _inFlight);
                if (_wake.CurrentCount == 0)
                {
                    _wake.Release();
                }
            }
        });
        _sending.TryAdd(task, 0);
        task.ContinueWith(t => _sending.TryRemove(t, out _), TaskScheduler.Default);
    }

    private async Task RecordLoopAsync(WebhookOptions settings)
    {
        var schedule = settings.EffectiveRetrySchedule;
        var batch = new List<(AttemptOutcome Outcome, string Status, DateTimeOffset? NextAttemptAt)>(RecordBatchSize);
        while (await _outcomes.Reader.WaitToReadAsync())
        {
            while (batch.Count < RecordBatchSize && _outcomes.Reader.TryRead(out var outcome))
            {
                batch.Add(Decide(outcome, schedule, settings.RetryJitter));
            }

            await RecordAsync(batch, settings);
            batch.Clear();
        }
    }

    /// <summary>Succeeded; failed for good (410, or the schedule is used up); or pending until the next retry.</summary>
    private static (AttemptOutcome, string, DateTimeOffset?) Decide(AttemptOutcome outcome, IReadOnlyList<TimeSpan> schedule, double jitter)
    {
        if (outcome.Succeeded)
        {
            return (outcome, "Succeeded", null);
        }

        var attempt = outcome.Delivery.AttemptNumber;
        if (outcome.Gone || attempt > schedule.Count)
        {
            return (outcome, "Failed", null);
        }

        var wait = schedule[attempt - 1] * (1 + (jitter * ((Random.Shared.NextDouble() * 2) - 1)));
        return (outcome, "Pending", outcome.StartedAt + TimeSpan.FromMilliseconds(outcome.DurationMs) + wait);
    }

    private async Task RecordAsync(List<(AttemptOutcome Outcome, string Status, DateTimeOffset? NextAttemptAt)> batch, WebhookOptions settings)
    {
        IReadOnlyList<(Guid EndpointId, int ConsecutiveFailures, bool Enabled)> runs;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                runs = await store.RecordAsync(batch, CancellationToken.None);
                break;
            }
            catch (Exception ex) when (attempt < 5)
            {
                logger.LogWarning(ex, "Recording {Count} webhook attempts failed; retrying", batch.Count);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt));
            }
            catch (Exception ex)
            {
                // The deliveries stay leased and are sent again when the lease ends: at least once, never lost.
                logger.LogError(ex, "Recording {Count} webhook attempts failed; they will be retried after their lease", batch.Count);
                return;
            }
        }

        var toDisable = new Dictionary<Guid, string>();
        foreach (var (outcome, _, _) in batch.Where(b => b.Outcome.Gone))
        {
            toDisable[outcome.Delivery.EndpointId] = "The endpoint answered 410 Gone.";
        }

        foreach (var run in runs.Where(r => r.Enabled && r.ConsecutiveFailures >= settings.DisableAfterConsecutiveFailures))
        {
            toDisable.TryAdd(run.EndpointId, $"{run.ConsecutiveFailures} attempts in a row failed.");
        }

        foreach (var (endpointId, reason) in toDisable)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<EndpointDisabler>().DisableAsync(endpointId, reason, CancellationToken.None);
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Disabling webhook endpoint {EndpointId} failed", endpointId);
            }
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    private sealed class EndpointSlots(int size)
    {
        public readonly SemaphoreSlim Gate = new(size, size);
        public int Claimed;
    }
}
