using Microsoft.EntityFrameworkCore;
using Notify.Modules.Webhooks.Domain;
using Notify.Testing;

namespace Notify.Webhooks.Tests;

/// <summary>Retries live in PostgreSQL (<c>next_attempt_at</c>), so a Worker that stops mid-schedule loses none.</summary>
public sealed class RestartTests(Infrastructure infrastructure) : WebhookTestBase(infrastructure)
{
    // The test starts and stops its Workers itself.
    internal override Dictionary<string, string?>? WorkerSettings => null;

    [Fact]
    public async Task A_Worker_restart_in_the_middle_of_the_retry_schedule_loses_no_pending_retry()
    {
        // Retries 3 s apart: long enough to stop the Worker between two attempts.
        var settings = NotifyHosts.FastWebhooks(("RetrySchedule:0", "00:00:03"), ("RetrySchedule:1", "00:00:03"), ("RetrySchedule:2", "00:00:03"));
        var worker = await Hosts.StartWorkerAsync(settings);
        Receiver.On("restart", n => n == 1 ? 500 : 200);
        using var client = Hosts.Client();
        var (id, _) = await client.CreateWebhookAsync(Receiver.Url("restart"), "*");

        await client.SendTestAsync(id);
        await Api.WaitUntilAsync(async () => (await client.AttemptsAsync(id)).Count == 1);
        await Hosts.StopAsync(worker);

        // Between Workers the retry is only a row: pending, with its due time.
        var pending = await Hosts.QueryAsync(db => db.Deliveries.SingleAsync(d => d.EndpointId == id));
        Assert.Equal(DeliveryStatus.Pending, pending.Status);
        Assert.NotNull(pending.NextAttemptAt);
        Assert.Single(Receiver.Received("restart"));

        await Hosts.StartWorkerAsync(settings);
        await Api.WaitUntilAsync(async () => (await client.AttemptsAsync(id)).Count == 2);

        var attempts = await client.AttemptsAsync(id);
        Assert.Equal([500, 200], attempts.Select(a => a.GetProperty("statusCode").GetInt32()));
        Assert.Equal(2, Receiver.Received("restart").Count);
        Assert.True(Receiver.Received("restart")[1].At >= pending.NextAttemptAt!.Value.AddMilliseconds(-50), "the retry kept its schedule");
        Assert.Equal(DeliveryStatus.Succeeded, await Hosts.QueryAsync(db => db.Deliveries.Where(d => d.EndpointId == id).Select(d => d.Status).SingleAsync()));
    }
}
