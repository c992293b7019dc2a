using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Notify.Modules.Templates.Rendering;

/// <summary>Compiles the email layout while the host starts, before it reports healthy.</summary>
internal sealed class LayoutWarmUp(EmailLayoutRenderer layout, ILogger<LayoutWarmUp> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await layout.WarmUpAsync().WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not fatal: the first email retries the compilation and reports its error.
            logger.LogError(ex, "Compiling the email layout failed");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
