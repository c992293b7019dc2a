using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Modules.Delivery.Domain;
using Npgsql;

namespace Notify.Modules.Delivery.Telemetry;

/// <summary>
/// Queue lag per channel: how many deliveries are due but not sent, and how long the oldest of them has waited.
/// Observable gauges must not do I/O, so a Worker loop samples both every few seconds (one statement on the partial
/// index of queued deliveries) and the gauges report the last sample.
/// </summary>
internal sealed class QueueLagMonitor : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _clock;
    private readonly ILogger<QueueLagMonitor> _logger;
    private readonly Meter _meter;
    private volatile FrozenDictionary<string, (long Due, double OldestSeconds)> _sample = FrozenDictionary<string, (long, double)>.Empty;

    public QueueLagMonitor(NpgsqlDataSource dataSource, TimeProvider clock, IMeterFactory meters, ILogger<QueueLagMonitor> logger)
    {
        _dataSource = dataSource;
        _clock = clock;
        _logger = logger;
        _meter = meters.Create(DeliveryTelemetry.Name);
        _meter.CreateObservableGauge("notify.delivery.queue.due", () => Measure(s => s.Due), "{delivery}",
            "Deliveries whose time has come that no sender has sent yet.");
        _meter.CreateObservableGauge("notify.delivery.queue.oldest_age", () => Measure(s => s.OldestSeconds), "s",
            "How long the oldest due, unsent delivery has waited.");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, _clock);
        do
        {
            try
            {
                _sample = await SampleAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                _logger.LogDebug(ex, "Sampling the delivery queue failed; keeping the last sample");
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private async Task<FrozenDictionary<string, (long, double)>> SampleAsync(CancellationToken ct)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT channel, count(*), extract(epoch FROM @now - min(coalesce(deliver_at, created_at)))::float8
            FROM delivery.deliveries
            WHERE status = '{DeliveryStatus.Queued}' AND (deliver_at IS NULL OR deliver_at <= @now)
            GROUP BY channel
            """);
        command.Parameters.AddWithValue("now", _clock.GetUtcNow());
        var sample = new Dictionary<string, (long, double)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            sample[reader.GetString(0)] = (reader.GetInt64(1), Math.Max(0, reader.GetDouble(2)));
        }

        return sample.ToFrozenDictionary();
    }

    private IEnumerable<Measurement<T>> Measure<T>(Func<(long Due, double OldestSeconds), T> value)
        where T : struct =>
        _sample.Select(s => new Measurement<T>(value(s.Value), new KeyValuePair<string, object?>("channel", s.Key)));

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public override void Dispose()
    {
        _meter.Dispose();
        base.Dispose();
    }
}
