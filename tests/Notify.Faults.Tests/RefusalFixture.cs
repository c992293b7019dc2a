using Notify.Testing;

// The fault tests load the machine (1,000 emails, process restarts); one collection at a time keeps their timing honest.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Notify.Faults.Tests;

/// <summary>
/// A deployment (API and Worker processes) whose email goes to a <see cref="ScriptedSmtpServer"/>, with quick retries.
/// It has its own PostgreSQL, Redis and RabbitMQ: two deployments on one broker would consume each other's queues.
/// </summary>
public sealed class RefusalFixture : IAsyncLifetime
{
    private readonly Infrastructure _infrastructure = new();

    internal ScriptedSmtpServer Smtp { get; } = new();

    internal NotifyDeployment Deployment { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _infrastructure.InitializeAsync();
        Deployment = await NotifyDeployment.StartAsync(_infrastructure, Smtp.ConnectionString, new Dictionary<string, string>
        {
            ["Notify__Email__RetryDelay"] = "00:00:00.100",
            ["Notify__Email__BaseBackoff"] = "00:00:01",
            ["Notify__Email__MaxBackoff"] = "00:00:02",
            ["Notify__Email__PollInterval"] = "00:00:00.100",
        });
    }

    public async Task DisposeAsync()
    {
        if (Deployment is not null)
        {
            await Deployment.DisposeAsync();
        }

        Smtp.Dispose();
        await _infrastructure.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class RefusalCollection : ICollectionFixture<RefusalFixture>
{
    public const string Name = "smtp-refusals";
}
