using Microsoft.Extensions.Logging;

namespace Notify.Modules.Delivery.Sending;

/// <summary>The senders' polling loop: one round after another, pausing only when a round found less than a full batch.</summary>
internal static class SenderLoop
{
    /// <param name="round">Claims and sends one batch; the number claimed.</param>
    /// <param name="failure">What is logged when a round fails (the database was unreachable, say): its claims come back after their lease.</param>
    public static async Task RunAsync(
        Func<CancellationToken, Task<int>> round, int batchSize, TimeSpan pollInterval, TimeProvider clock, ILogger logger, string failure,
        CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                claimed = await round(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "{Failure}; trying again shortly", failure);
            }

            if (claimed < batchSize)
            {
                try
                {
                    await Task.Delay(pollInterval, clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
