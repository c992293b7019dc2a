using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Notify.AppHost;

/// <summary>
/// Logs each resource's state and health changes to the console, so a terminal (or CI log) shows what
/// the dashboard shows: which server is starting, healthy, or has failed.
/// </summary>
internal static class ResourceStateLog
{
    public static void LogResourceStates(this IDistributedApplicationBuilder builder)
    {
        builder.Eventing.Subscribe<AfterResourcesCreatedEvent>((e, ct) =>
        {
            var notifications = e.Services.GetRequiredService<ResourceNotificationService>();
            var logger = e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Notify.Resources");
            _ = Task.Run(async () =>
            {
                var last = new Dictionary<string, string>();
                try
                {
                    await foreach (var update in notifications.WatchAsync(ct))
                    {
                        var state = $"{update.Snapshot.State?.Text ?? "?"}{(update.Snapshot.HealthStatus is { } h ? $" ({h})" : "")}";
                        if (update.Snapshot.ExitCode is { } code)
                        {
                            state += $" exit code {code}";
                        }

                        if (last.GetValueOrDefault(update.ResourceId) != state)
                        {
                            last[update.ResourceId] = state;
                            logger.LogInformation("{Resource}: {State}", update.Resource.Name, state);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    // The AppHost is stopping.
                }
            }, CancellationToken.None);
            return Task.CompletedTask;
        });
    }
}
