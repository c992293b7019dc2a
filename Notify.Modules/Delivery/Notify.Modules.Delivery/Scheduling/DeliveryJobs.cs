using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Notify.Modules.Delivery.Data;
using Quartz;

namespace Notify.Modules.Delivery.Scheduling;

/// <summary>The Delivery module's Quartz jobs (clustered: each firing runs on one Worker).</summary>
internal static class DeliveryJobs
{
    public static void Add(IServiceCollection services)
    {
        services.AddScoped<ScheduledRelease>();
        services.ConfigureAllQuartzSchedulers(quartz =>
        {
            // Cron, not simple intervals: wall-clock aligned, whichever node declared them (see AddNotifyScheduling).
            quartz.ScheduleJob<ScheduledReleaseJob>(
                trigger => trigger.WithIdentity("scheduled-release", "delivery").WithCronSchedule("0/5 * * * * ?"),
                job => job.WithIdentity("scheduled-release", "delivery"));
            quartz.ScheduleJob<PartitionsAheadJob>(
                trigger => trigger.WithIdentity("partitions-ahead", "delivery").WithCronSchedule("0 15 0 * * ?"),
                job => job.WithIdentity("partitions-ahead", "delivery"));
        });
    }
}

/// <summary>Every 5 seconds: releases due scheduled sends, batch after batch until none is left.</summary>
[DisallowConcurrentExecution]
internal sealed class ScheduledReleaseJob(ScheduledRelease release, ILogger<ScheduledReleaseJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        int released;
        var total = 0;
        do
        {
            released = await release.ReleaseDueAsync(cancellationToken);
            total += released;
        }
        while (released == ScheduledRelease.BatchSize);

        if (total > 0)
        {
            logger.LogInformation("Released {Count} scheduled notifications", total);
        }
    }
}

/// <summary>
/// Daily upkeep: creates the monthly partitions of the coming months (idempotent), so inserts never run past the last
/// one, and drops provider attempts older than the 7-day health window (and a day).
/// </summary>
[DisallowConcurrentExecution]
internal sealed class PartitionsAheadJob(DeliveryDbContext db, TimeProvider clock) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var month = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        await db.Database.ExecuteSqlInterpolatedAsync($"SELECT delivery.create_monthly_partitions({month}, {Partitions.MonthsAhead})", cancellationToken);
        var kept = clock.GetUtcNow().AddDays(-8);
        await db.ProviderAttempts.Where(a => a.CreatedAt < kept).ExecuteDeleteAsync(cancellationToken);
    }
}
