using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Delivery.Domain;

namespace Notify.Modules.Delivery.Features.SendNotification;

/// <summary>
/// Group commit for single sends: each request hands its rows (and idempotency record, if it has a key) here and waits; a
/// writer stores everything that gathered meanwhile in one transaction (<see cref="NotificationStore.StoreAcceptedAsync"/>)
/// and then answers them all. Under load one transaction carries dozens of sends instead of one. A request is answered
/// only after its rows committed, so a crash loses nothing that got its 202; a failed transaction fails every request in
/// it, and none of them is stored.
/// </summary>
internal sealed class AcceptQueue(IServiceScopeFactory scopes) : BackgroundService
{
    /// <summary>Writers at once: while one commits, the next gathers and writes, so a request waits for at most about one commit.</summary>
    private const int Writers = 2;

    /// <summary>Bounds one transaction; more waiting requests go to the next one.</summary>
    private const int MaxNotificationsPerCommit = 2_000;

    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>();

    /// <summary>
    /// Stores the send together with other requests' sends; returns once committed: true when it was stored, false when
    /// its idempotency key went to another send (<see cref="NotificationStore.WinnerAsync"/>).
    /// </summary>
    public Task<bool> StoreAsync(AcceptedSend send)
    {
        var pending = new Pending(send, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_pending.Writer.TryWrite(pending))
        {
            throw new InvalidOperationException("The API is shutting down.");
        }

        return pending.Stored.Task;
    }

    // Kestrel stops taking requests before hosted services stop, so on shutdown the writers finish what is queued.
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        stoppingToken.Register(() => _pending.Writer.TryComplete());
        return Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(WriteAsync, CancellationToken.None)));
    }

    private async Task WriteAsync()
    {
        var group = new List<Pending>();
        while (await _pending.Reader.WaitToReadAsync())
        {
            group.Clear();
            var notifications = 0;
            while (notifications < MaxNotificationsPerCommit && _pending.Reader.TryRead(out var next))
            {
                group.Add(next);
                notifications += next.Send.Rows.Notifications.Count;
            }

            if (group.Count == 0)
            {
                continue;
            }

            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var lost = await scope.ServiceProvider.GetRequiredService<NotificationStore>()
                    .StoreAcceptedAsync(group.Select(p => p.Send).ToList(), CancellationToken.None);
                for (var i = 0; i < group.Count; i++)
                {
                    group[i].Stored.TrySetResult(!lost.Contains(i));
                }
            }
            catch (Exception ex)
            {
                group.ForEach(p => p.Stored.TrySetException(ex));
            }
        }
    }

    private sealed record Pending(AcceptedSend Send, TaskCompletionSource<bool> Stored);
}
