using Notify.Testing;

namespace Notify.Webhooks.Tests;

/// <summary>
/// A test class's own database, API host, a receiver, and (unless <see cref="WorkerSettings"/> is null) a Worker.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public abstract class WebhookTestBase(Infrastructure infrastructure) : IAsyncLifetime
{
    internal NotifyHosts Hosts { get; } = new(infrastructure);

    internal Receiver Receiver { get; private set; } = null!;

    internal virtual Dictionary<string, string?> ApiSettings => NotifyHosts.FastWebhooks();

    internal virtual Dictionary<string, string?>? WorkerSettings => NotifyHosts.FastWebhooks();

    public async Task InitializeAsync()
    {
        Receiver = await Receiver.StartAsync();
        await Hosts.MigrateAsync();
        await Hosts.StartApiAsync(ApiSettings);
        if (WorkerSettings is { } worker)
        {
            await Hosts.StartWorkerAsync(worker);
        }
    }

    public async Task DisposeAsync()
    {
        await Hosts.DisposeAsync();
        await Receiver.DisposeAsync();
    }
}
