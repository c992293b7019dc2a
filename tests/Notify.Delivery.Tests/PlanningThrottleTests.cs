using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Delivery;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Dispatch;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Preferences;
using Notify.Modules.Templates;
using Notify.Testing;

namespace Notify.Delivery.Tests;

/// <summary>The planner's backpressure against real PostgreSQL: it counts the due deliveries senders have not sent yet.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class PlanningThrottleTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private const string NormalQueue = NotificationPlanner.Queue + ".normal";
    private const string CriticalQueue = NotificationPlanner.Queue + ".critical";
    private readonly Guid _tenant = Guid.CreateVersion7();
    private IHost _host = null!;
    private PlanningThrottle _throttle = null!;

    public async Task InitializeAsync()
    {
        var database = await infrastructure.CreateDatabaseAsync("delivery");
        // The API side: no planner or sender runs, so the deliveries stay as these tests leave them.
        _host = await infrastructure.StartModuleHostAsync(database, HostRole.Api, new TemplatesModule(), new PreferencesModule(), new DeliveryModule());
        _throttle = ActivatorUtilities.CreateInstance<PlanningThrottle>(_host.Services, Options.Create(new PlanningOptions { MaxDueBacklog = 2 }));
        await _throttle.StartAsync(default);
    }

    public async Task DisposeAsync()
    {
        await _throttle.StopAsync(default);
        _throttle.Dispose();
        await _host.StopAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task Planning_waits_while_the_due_backlog_is_full_critical_excepted_and_resumes_once_it_is_sent()
    {
        // Held for quiet hours: not due, so not part of the senders' backlog.
        await QueuedAsync(deliverAt: DateTimeOffset.UtcNow.AddHours(8));
        await QueuedAsync();
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.True(_throttle.WaitAsync(NormalQueue, default).IsCompleted, "One due delivery is below the limit of two.");

        var second = await QueuedAsync();
        await Task.Delay(TimeSpan.FromSeconds(1));
        var waiting = _throttle.WaitAsync(NormalQueue, default).AsTask();
        Assert.False(waiting.IsCompleted, "Two due deliveries fill the backlog: planning waits.");
        Assert.True(_throttle.WaitAsync(CriticalQueue, default).IsCompleted, "Critical notifications are never held back.");

        await using (var scope = _host.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<DeliveryDbContext>().Database.ExecuteSqlInterpolatedAsync(
                $"UPDATE delivery.deliveries SET status = 'sent' WHERE id = {second.Id}");
        }

        await waiting.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private async Task<ChannelDelivery> QueuedAsync(DateTimeOffset? deliverAt = null) =>
        (await QueuedEmails.AddAsync(_host.Services, _tenant, deliverAt: deliverAt)).Delivery;
}
