using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Abstractions.Modules;
using Npgsql;
using Quartz;

namespace Notify.Modules.Abstractions.Scheduling;

public static class SchedulingExtensions
{
    /// <summary>The Quartz scheduler name, stored as <c>sched_name</c> in every Quartz table: all hosts share it to form one cluster.</summary>
    public const string SchedulerName = "notify";

    /// <summary>How often a node records that it is alive; short so a dead node's triggers are taken over within seconds.</summary>
    public static readonly TimeSpan CheckinInterval = TimeSpan.FromSeconds(5);

    /// <summary>How long past a missed check-in the others wait before recovering a node's triggers (tolerates GC or VM pauses).</summary>
    public static readonly TimeSpan CheckinMisfireThreshold = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Registers the Quartz scheduler shared by every Notify host: a clustered ADO job store in the
    /// <c>quartz</c> schema of the <c>notify</c> database, so each trigger firing runs on exactly one node.
    /// Modules add their jobs and triggers in <paramref name="configure"/>; give every job and trigger an
    /// explicit identity, because the store matches them by key on each start. The tables must exist
    /// already (<see cref="QuartzSchema.EnsureCreatedAsync"/>, run by the migration step).
    /// </summary>
    public static IHostApplicationBuilder AddNotifyScheduling(this IHostApplicationBuilder builder, Action<IQuartzBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var connectionString = builder.Configuration.GetConnectionString(ModuleHostExtensions.DatabaseConnectionName)
            ?? throw new InvalidOperationException($"Scheduling needs the connection string '{ModuleHostExtensions.DatabaseConnectionName}'.");

        builder.AddQuartz(quartz =>
        {
            quartz.ConfigureScheduler(scheduler =>
            {
                scheduler.InstanceName = SchedulerName;
                // Each process generates its own id (host name + timestamp); cluster members must differ.
                scheduler.GenerateInstanceId = true;
            });

            quartz.UsePersistentStore(store =>
            {
                // The factory overload, not the provider-name one: no reflection to find Npgsql.
                store.UsePostgres(NpgsqlFactory.Instance, connectionString);
                store.ConfigureStore(options =>
                {
                    options.TablePrefix = QuartzSchema.TablePrefix;
                    // 3.x's UseProperties: job data stored as readable string pairs that survive type changes,
                    // so job data map values must be strings.
                    options.StoreJobDataAsStrings = true;
                });
                store.UseClustering(cluster =>
                {
                    cluster.CheckinInterval = CheckinInterval;
                    cluster.CheckinMisfireThreshold = CheckinMisfireThreshold;
                });
                store.UseSystemTextJsonSerializer();
            });

            // Every node declares the same jobs on start. Replacing what the store holds (Quartz's default) resets a
            // trigger another node may already have acquired, and the same fire time then runs twice (the clustering
            // test caught this); so existing jobs and triggers are left alone. To change a schedule, give the trigger
            // a new key. Prefer cron schedules: they are wall-clock aligned, whichever node declared them.
            configure?.Invoke(quartz);
        });

        builder.Services.Configure<QuartzOptions>(options => options.Scheduling.IgnoreDuplicates = true);

        // A job cut off by shutdown is not run again elsewhere unless it requests recovery; let it finish.
        builder.AddQuartzHostedService(options => options.WaitForJobsToComplete = true);
        return builder;
    }
}
