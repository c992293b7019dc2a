using System.Diagnostics;
using Xunit.Abstractions;

namespace Notify.Faults.Tests;

/// <summary>
/// Issue 5's fault acceptance with real processes and real failures: the Worker SIGKILLed mid-dispatch, RabbitMQ
/// stopped while the API accepts. Each ends with every notification sent and smtp4dev holding each message once.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class ProcessFaultTests(FaultsFixture fixture, ITestOutputHelper output)
{
    private const int Count = 1_000;
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(120);

    private NotifyDeployment Notify => fixture.Deployment;

    [Fact]
    public async Task A_Worker_killed_in_the_middle_of_dispatching_1000_emails_and_started_again_sends_every_one_exactly_once()
    {
        var (tenant, key) = await Notify.CreateTenantAsync("Kill the worker");
        using var client = Notify.Client(key);
        await NotifyDeployment.PublishEmailTemplateAsync(client);
        var domain = $"@kill-{Guid.NewGuid():N}.example.com";
        var addresses = Enumerable.Range(0, Count).Select(i => $"r{i}{domain}").ToList();
        var clock = Stopwatch.StartNew();

        var ids = await NotifyDeployment.SendAsync(client, addresses);
        Assert.Equal(Count, ids.Distinct().Count());
        output.WriteLine($"accepted {Count} in {clock.ElapsedMilliseconds} ms");

        // Kill once a good part went out, while the rest is being planned and sent.
        await WaitUntilAsync(async () => await Notify.CountNotificationsAsync(tenant, "sent") >= 250, "250 sent before the kill");
        await Notify.KillWorkerAsync();
        var sentAtKill = await Notify.CountNotificationsAsync(tenant, "sent");
        var leasedAtKill = await Notify.ScalarAsync(
            "SELECT count(*) FROM delivery.deliveries WHERE tenant_id = @t AND status = 'queued' AND leased_until > now()", tenant);
        // Handed to smtp4dev (the end of the data about to go out, or out) with the answer not yet recorded.
        var handedOverAtKill = await Notify.ScalarAsync(
            "SELECT count(*) FROM delivery.deliveries WHERE tenant_id = @t AND status = 'queued' AND handed_over_at IS NOT NULL", tenant);
        output.WriteLine($"killed the Worker (SIGKILL) at {clock.ElapsedMilliseconds} ms: {sentAtKill} sent, {leasedAtKill} deliveries claimed by it, " +
            $"{handedOverAtKill} of them handed over");
        Assert.True(sentAtKill < Count, $"the Worker was killed only after all {Count} were sent: the test did not interrupt anything");

        await Notify.StartWorkerAsync();
        await WaitUntilAsync(async () => await Notify.CountNotificationsAsync(tenant, "sent") == Count, $"all {Count} sent after the restart");
        output.WriteLine($"all {Count} sent at {clock.ElapsedMilliseconds} ms");

        await AssertEachDeliveredOnceAsync(tenant, domain, addresses);
        output.WriteLine($"verified in smtp4dev at {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task RabbitMQ_stopped_while_the_API_accepts_1000_sends_and_started_again_delivers_every_one_once()
    {
        var (tenant, key) = await Notify.CreateTenantAsync("Stop RabbitMQ");
        using var client = Notify.Client(key);
        await NotifyDeployment.PublishEmailTemplateAsync(client);
        var domain = $"@rabbit-{Guid.NewGuid():N}.example.com";
        var addresses = Enumerable.Range(0, Count).Select(i => $"r{i}{domain}").ToList();
        var clock = Stopwatch.StartNew();

        await fixture.Infrastructure.RabbitMq.StopAsync();
        output.WriteLine($"RabbitMQ stopped at {clock.ElapsedMilliseconds} ms");
        try
        {
            // The API keeps accepting: the send and its outbox row commit to PostgreSQL; the broker is the relay's business.
            var ids = await NotifyDeployment.SendAsync(client, addresses);
            Assert.Equal(Count, ids.Distinct().Count());
            output.WriteLine($"accepted {Count} without a broker at {clock.ElapsedMilliseconds} ms");
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.Equal(0, await Notify.CountNotificationsAsync(tenant, "sent"));
        }
        finally
        {
            await fixture.Infrastructure.StartRabbitMqAgainAsync();
        }

        output.WriteLine($"RabbitMQ up again at {clock.ElapsedMilliseconds} ms");
        await WaitUntilAsync(async () => await Notify.CountNotificationsAsync(tenant, "sent") == Count, $"all {Count} sent after RabbitMQ came back");
        output.WriteLine($"all {Count} sent at {clock.ElapsedMilliseconds} ms");

        await AssertEachDeliveredOnceAsync(tenant, domain, addresses);
    }

    /// <summary>smtp4dev holds exactly one message per notification: as many as sent, one per address, distinct Message-IDs.</summary>
    private async Task AssertEachDeliveredOnceAsync(Guid tenant, string domain, List<string> addresses)
    {
        // The last "sent" commits right after smtp4dev's 250, so it has them all; a short grace for its own storage.
        List<(string Id, string To)> messages = [];
        await WaitUntilAsync(async () => (messages = await fixture.MessagesToAsync(domain)).Count >= Count, $"{Count} messages in smtp4dev", TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(1));
        messages = await fixture.MessagesToAsync(domain);
        var messageIds = await fixture.MessageIdsAsync(messages.Select(m => m.Id));

        var duplicatedAddresses = messages.GroupBy(m => m.To, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var duplicatedIds = messageIds.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        output.WriteLine($"smtp4dev: {messages.Count} messages, {messageIds.Distinct().Count()} distinct Message-IDs, " +
            $"{messages.Select(m => m.To).Distinct(StringComparer.OrdinalIgnoreCase).Count()} distinct recipients; " +
            $"duplicates: {duplicatedIds.Count} Message-IDs ({string.Join(", ", duplicatedIds.Take(5))}), {duplicatedAddresses.Count} recipients");

        Assert.Equal(Count, await Notify.CountNotificationsAsync(tenant, "sent"));
        Assert.Equal(Count, await Notify.ScalarAsync("SELECT count(*) FROM delivery.deliveries WHERE tenant_id = @t AND status = 'sent'", tenant));
        Assert.Empty(duplicatedIds);
        Assert.Empty(duplicatedAddresses);
        Assert.Equal(Count, messages.Count);
        Assert.Equal(addresses.Order(StringComparer.OrdinalIgnoreCase), messages.Select(m => m.To).Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
        // The Message-IDs are the ones recorded as the deliveries' provider message ids.
        Assert.Equal(Count, await Notify.ScalarAsync(
            "SELECT count(DISTINCT provider_message_id) FROM delivery.deliveries WHERE tenant_id = @t AND status = 'sent'", tenant));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DrainTimeout);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for: {what}");
            await Task.Delay(100);
        }
    }
}
