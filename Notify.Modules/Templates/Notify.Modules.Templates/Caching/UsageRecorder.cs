using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Modules.Templates.Data;

namespace Notify.Modules.Templates.Caching;

/// <summary>
/// Counts renders in memory and adds them to the templates' usage count every few seconds, so the send
/// path never writes to the database for bookkeeping.
/// </summary>
internal sealed class UsageRecorder(IServiceScopeFactory scopes, TimeProvider clock, ILogger<UsageRecorder> logger) : BackgroundService
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(5);
    private ConcurrentDictionary<Guid, Usage> _pending = new();

    public void Record(Guid templateId)
    {
        var now = clock.GetUtcNow();
        _pending.AddOrUpdate(templateId, _ => new Usage(1, now), (_, u) => new Usage(u.Count + 1, now));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(CancellationToken.None);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: the final flush below saves what was counted.
        }

        await FlushAsync(CancellationToken.None);
    }

    internal async Task FlushAsync(CancellationToken cancellationToken)
    {
        var batch = Interlocked.Exchange(ref _pending, new ConcurrentDictionary<Guid, Usage>());
        if (batch.IsEmpty)
        {
            return;
        }

        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<TemplatesDbContext>();
            foreach (var (templateId, usage) in batch)
            {
                await db.Templates.Where(t => t.Id == templateId).ExecuteUpdateAsync(s => s
                    .SetProperty(t => t.UsageCount, t => t.UsageCount + usage.Count)
                    .SetProperty(t => t.LastUsedAt, usage.LastUsedAt), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Could not save template usage counts; {Count} templates' counts are lost", batch.Count);
        }
    }

    private sealed record Usage(long Count, DateTimeOffset LastUsedAt);
}
