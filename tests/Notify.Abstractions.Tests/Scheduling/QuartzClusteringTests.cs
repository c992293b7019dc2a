using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Abstractions.Scheduling;
using Notify.Testing;
using Npgsql;
using Quartz;

namespace Notify.Abstractions.Tests.Scheduling;

[Collection(InfrastructureCollection.Name)]
public sealed class QuartzClusteringTests(Infrastructure infrastructure)
{
    private const int MinimumFirings = 6;
    private const int FiringsAfterHandover = 2;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    [Fact]
    public async Task Two_clustered_workers_fire_a_once_a_second_trigger_once_per_firing()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var ct = timeout.Token;
        var connectionString = await infrastructure.CreateDatabaseAsync("quartz");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await QuartzSchema.EnsureCreatedAsync(dataSource, ct);
        await ExecuteAsync(dataSource, RecordFiringJob.CreateTable, ct);

        using var first = BuildWorker(connectionString);
        using var second = BuildWorker(connectionString);
        var hosts = new Dictionary<string, IHost>();
        IReadOnlyList<string> nodes = [];
        string survivor;
        try
        {
            await first.StartAsync(ct);
            await second.StartAsync(ct);
            hosts[await InstanceIdAsync(first, ct)] = first;
            hosts[await InstanceIdAsync(second, ct)] = second;

            // Both nodes must be checked in to the cluster, so the firings counted below competed between two live nodes.
            await WaitUntilAsync(async () => (nodes = await ClusterNodesAsync(dataSource, ct)).Count >= 2, () => $"cluster nodes: {string.Join(", ", nodes)}", ct);
            var bothLiveSince = DateTimeOffset.UtcNow;
            long firings = 0;
            await WaitUntilAsync(
                async () => (firings = await CountFiringsAsync(dataSource, since: bothLiveSince, instanceId: null, ct)) >= MinimumFirings - FiringsAfterHandover,
                () => $"{firings} firings with both nodes live",
                ct);

            // The node that has been firing keeps re-acquiring the trigger; stop it, so the other node has to prove it
            // was live too by taking over — and the handover must not repeat or skip a firing either.
            var busy = (await ReadFiringsAsync(dataSource, ct)).MaxBy(f => f.ScheduledFireTime)!.InstanceId;
            survivor = hosts.Keys.Single(id => id != busy);
            await hosts[busy].StopAsync(ct);
            var handedOverAt = DateTimeOffset.UtcNow;
            await WaitUntilAsync(
                async () => (firings = await CountFiringsAsync(dataSource, since: handedOverAt, instanceId: survivor, ct)) >= FiringsAfterHandover,
                () => $"{firings} firings by {survivor} after the other node stopped",
                ct);
        }
        finally
        {
            await Task.WhenAll(first.StopAsync(CancellationToken.None), second.StopAsync(CancellationToken.None));
        }

        Assert.Equal(hosts.Keys.Order(), nodes.Order());

        var all = await ReadFiringsAsync(dataSource, ct);
        var perScheduledTime = all.GroupBy(f => f.ScheduledFireTime).ToList();
        Assert.All(perScheduledTime, firing => Assert.Single(firing));
        Assert.True(perScheduledTime.Count >= MinimumFirings, $"Only {perScheduledTime.Count} firings were recorded.");
        Assert.Equal(hosts.Keys.Order(), all.Select(f => f.InstanceId).Distinct().Order());
        // A cron trigger is wall-clock aligned: the second node re-declaring it on start did not move its fire times,
        // and no firing was lost in the handover (a lost one would be a gap; a late misfire fires off the second).
        var times = perScheduledTime.Select(g => g.Key).Order().ToList();
        Assert.All(times, t => Assert.Equal(0, t.Millisecond));
        Assert.Equal(times.Count - 1, (times[^1] - times[0]).TotalSeconds);
    }

    private static IHost BuildWorker(string connectionString)
    {
        // No defaults: the hosts must not pick up appsettings or environment variables of the test run.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"ConnectionStrings:{ModuleHostExtensions.DatabaseConnectionName}"] = connectionString,
        });
        builder.Services.AddNpgsqlDataSource(connectionString);

        builder.AddNotifyScheduling(quartz =>
        {
            // An idle node looks for triggers every IdleWaitTime (30 s by default, 1 s at least); the survivor has to
            // notice the released trigger within the test's timeout.
            quartz.ConfigureScheduler(scheduler => scheduler.IdleWaitTime = TimeSpan.FromSeconds(1));
            // Same job and trigger keys on both nodes, as every Notify host declares the same schedule.
            quartz.ScheduleJob<RecordFiringJob>(
                trigger => trigger.WithIdentity("record-firing", "tests").WithCronSchedule("* * * * * ?"),
                job => job.WithIdentity("record-firing", "tests"));
        });
        return builder.Build();
    }

    /// <summary>Polls <paramref name="condition"/>; on timeout fails with what was last seen instead of a bare cancellation.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<string> lastSeen, CancellationToken ct)
    {
        try
        {
            while (!await condition())
            {
                await Task.Delay(PollInterval, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Assert.Fail($"Timed out after {Timeout.TotalSeconds} s; last seen: {lastSeen()}.");
        }
    }

    private static async Task<string> InstanceIdAsync(IHost host, CancellationToken ct)
    {
        var scheduler = await host.Services.GetRequiredService<ISchedulerFactory>().GetScheduler(ct);
        Assert.NotNull(scheduler);
        Assert.Equal(SchedulingExtensions.SchedulerName, scheduler.SchedulerName);
        return scheduler.SchedulerInstanceId;
    }

    private static async Task<IReadOnlyList<string>> ClusterNodesAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"SELECT instance_name FROM {QuartzSchema.TablePrefix}scheduler_state WHERE sched_name = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = SchedulingExtensions.SchedulerName });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var nodes = new List<string>();
        while (await reader.ReadAsync(ct))
        {
            nodes.Add(reader.GetString(0));
        }

        return nodes;
    }

    private static async Task<long> CountFiringsAsync(NpgsqlDataSource dataSource, DateTimeOffset since, string? instanceId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT count(DISTINCT scheduled_fire_time) FROM {RecordFiringJob.Table} WHERE scheduled_fire_time >= $1 AND ($2::text IS NULL OR instance_id = $2)");
        command.Parameters.Add(new NpgsqlParameter { Value = since });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)instanceId ?? DBNull.Value });
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    private static async Task<IReadOnlyList<Firing>> ReadFiringsAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"SELECT scheduled_fire_time, instance_id FROM {RecordFiringJob.Table}");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var firings = new List<Firing>();
        while (await reader.ReadAsync(ct))
        {
            firings.Add(new Firing(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1)));
        }

        return firings;
    }

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(ct);
    }

    private sealed record Firing(DateTimeOffset ScheduledFireTime, string InstanceId);

    /// <summary>Records which node ran which firing; deliberately without a unique key, so a double firing shows up as two rows.</summary>
    internal sealed class RecordFiringJob(NpgsqlDataSource dataSource) : IJob
    {
        public const string Table = "public.quartz_test_firings";

        public const string CreateTable =
            $"CREATE TABLE {Table} (scheduled_fire_time timestamptz NOT NULL, instance_id text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())";

        public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
        {
            await using var command = dataSource.CreateCommand($"INSERT INTO {Table} (scheduled_fire_time, instance_id) VALUES ($1, $2)");
            command.Parameters.Add(new NpgsqlParameter { Value = context.ScheduledFireTimeUtc ?? context.FireTimeUtc });
            command.Parameters.Add(new NpgsqlParameter { Value = context.Scheduler.SchedulerInstanceId });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
