using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Sending;
using Notify.Testing;
using Xunit.Abstractions;

namespace Notify.Delivery.Tests;

/// <summary>The in-app sender against real PostgreSQL: exactly once, even with senders of two hosts racing.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class InAppSenderTests(Infrastructure infrastructure, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly DeliveryHosts _hosts = new(infrastructure);

    public Task InitializeAsync() => _hosts.MigrateAsync();

    public async Task DisposeAsync() => await _hosts.DisposeAsync();

    [Fact]
    public async Task Two_senders_on_two_hosts_racing_store_each_in_app_delivery_exactly_once()
    {
        var tenant = Guid.CreateVersion7();
        var users = Enumerable.Range(0, 1_000).Select(i => $"user-{i % 50}").ToList();
        var queued = await _hosts.QueueInAppAsync(tenant, users, "Race");
        var hostA = await _hosts.StartIdleHostAsync();
        var hostB = await _hosts.StartIdleHostAsync();

        var stopwatch = Stopwatch.StartNew();
        var counts = await Task.WhenAll(DrainAsync(hostA), DrainAsync(hostB), DrainAsync(hostA), DrainAsync(hostB));
        stopwatch.Stop();
        output.WriteLine($"{queued.Count} in-app deliveries stored by 4 racing senders in {stopwatch.ElapsedMilliseconds} ms " +
            $"({queued.Count / stopwatch.Elapsed.TotalSeconds:F0}/s); per sender: {string.Join(", ", counts)}");

        Assert.Equal(queued.Count, counts.Sum());
        Assert.True(counts.Count(c => c > 0) > 1, "the senders should have shared the work");
        await _hosts.WithDbAsync(async db =>
        {
            var items = await db.InboxItems.AsNoTracking().Where(i => i.TenantId == tenant).ToListAsync();
            Assert.Equal(queued.Select(q => q.DeliveryId).Order(), items.Select(i => i.Id).Order());
            Assert.All(items, i => Assert.Equal("Race", i.Title));

            var deliveries = await db.Deliveries.AsNoTracking().Where(d => d.TenantId == tenant).ToListAsync();
            Assert.All(deliveries, d =>
            {
                Assert.Equal(DeliveryStatus.Sent, d.Status);
                Assert.Equal(1, d.Attempts);
            });

            var sentEvents = await db.Events.AsNoTracking().Where(e => e.TenantId == tenant && e.Type == TimelineEvents.Sent).ToListAsync();
            Assert.Equal(queued.Select(q => q.DeliveryId).Order(), sentEvents.Select(e => e.DeliveryId!.Value).Order());
            Assert.All(sentEvents, e => Assert.Equal(7, e.Id.Version));

            var statuses = await db.Notifications.AsNoTracking().Where(n => n.TenantId == tenant).Select(n => n.Status).Distinct().ToListAsync();
            Assert.Equal([NotificationStatus.Sent], statuses);
            return 0;
        });
    }

    [Fact]
    public async Task A_delivery_cancelled_or_not_yet_due_is_not_stored()
    {
        var tenant = Guid.CreateVersion7();
        var (cancelledNotification, cancelled) = await _hosts.QueueInAppAsync(tenant, "ann", "Cancelled");
        var (_, later) = await _hosts.QueueInAppAsync(tenant, "ann", "Later");
        var (_, now) = await _hosts.QueueInAppAsync(tenant, "ann", "Now");
        await _hosts.WithDbAsync(async db =>
        {
            await db.Database.ExecuteSqlInterpolatedAsync($"UPDATE delivery.deliveries SET status = 'cancelled' WHERE id = {cancelled}");
            await db.Database.ExecuteSqlInterpolatedAsync($"UPDATE delivery.deliveries SET deliver_at = now() + interval '1 hour' WHERE id = {later}");
            return 0;
        });
        var host = await _hosts.StartIdleHostAsync();

        Assert.Equal(1, await DrainAsync(host));

        await _hosts.WithDbAsync(async db =>
        {
            Assert.Equal([now], await db.InboxItems.AsNoTracking().Where(i => i.TenantId == tenant).Select(i => i.Id).ToListAsync());
            Assert.Equal(DeliveryStatus.Cancelled, (await db.Deliveries.AsNoTracking().SingleAsync(d => d.Id == cancelled)).Status);
            Assert.Equal(DeliveryStatus.Queued, (await db.Deliveries.AsNoTracking().SingleAsync(d => d.Id == later)).Status);
            Assert.False(await db.Events.AnyAsync(e => e.NotificationId == cancelledNotification && e.Type == TimelineEvents.Sent));
            return 0;
        });
    }

    /// <summary>Runs one sender's rounds until a round finds nothing; the number it stored.</summary>
    private static async Task<int> DrainAsync(IHost host)
    {
        var sender = ActivatorUtilities.CreateInstance<InAppSender>(host.Services, Options.Create(new InAppOptions { BatchSize = 50 }));
        var total = 0;
        while (await sender.StoreDueAsync(default) is var stored and > 0)
        {
            total += stored;
        }

        return total;
    }
}
