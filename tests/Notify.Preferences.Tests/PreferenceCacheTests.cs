using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Preferences;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Preferences.Features;
using Notify.Modules.Preferences.Features.Recipients;
using Notify.Testing;

namespace Notify.Preferences.Tests;

/// <summary>
/// Two instances of the module sharing PostgreSQL and Redis, as two API or Worker replicas do: a change made
/// through one is seen by the next resolutions on the other, although both answer from their in-process cache.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class PreferenceCacheTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(2);
    private readonly Guid _tenant = Guid.CreateVersion7();
    private IHost _writer = null!;
    private IHost _reader = null!;

    public async Task InitializeAsync()
    {
        var database = await infrastructure.CreateDatabaseAsync("preferences");
        _writer = await infrastructure.StartModuleHostAsync(database, HostRole.Api, new PreferencesModule());
        _reader = await infrastructure.StartModuleHostAsync(database, HostRole.Worker, new PreferencesModule());
    }

    public async Task DisposeAsync()
    {
        foreach (var host in new[] { _writer, _reader })
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    [Fact]
    public async Task A_preference_change_on_one_instance_reaches_the_next_resolutions_on_another()
    {
        await UpsertAsync("ann", new RecipientProfileFields(Email: "Ann@Example.com", TimeZone: "Europe/Berlin"));
        var before = await PlanAsync("ann");
        Assert.True(before!.Channels.Single().Allowed);
        Assert.Equal("ann@example.com", before.Channels.Single().Address);

        await ChangeAsync("ann", r => r.Preferences = new UserPreferences(Channels: new Dictionary<string, PreferenceSetting> { ["email"] = PreferenceSetting.Forbid }));

        var elapsed = await UntilAsync(async () => (await PlanAsync("ann"))!.Channels.Single().Reason == PlanReasons.ForbiddenByUserChannel);
        Assert.True(elapsed < Propagation, $"took {elapsed}");
    }

    [Fact]
    public async Task Tenant_defaults_suppressions_and_erasure_reach_the_other_instance()
    {
        await UpsertAsync("bob", new RecipientProfileFields(Email: "bob@example.com"));
        Assert.True((await PlanAsync("bob"))!.Channels.Single().Allowed);

        await using (var scope = _writer.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<RecipientStore>().ReplaceDefaultsAsync(_tenant, new TenantDefaults(new Dictionary<string, CategoryDefaults>
                {
                    ["marketing"] = new(Channels: new Dictionary<string, PreferenceSetting> { ["email"] = PreferenceSetting.Forbid }),
                }), default);
        }

        await UntilAsync(async () => (await PlanAsync("bob"))!.Channels.Single().Reason == PlanReasons.ForbiddenByTenantDefault);

        await _writer.Services.GetRequiredService<IRecipientPreferences>().SuppressAddressAsync(_tenant, "BOB@example.com", SuppressionReason.HardBounce, default);
        await UntilAsync(async () => (await PlanAsync("bob", "transactional"))!.Channels.Single().Reason == PlanReasons.Suppressed);

        await using (var scope = _writer.Services.CreateAsyncScope())
        {
            Assert.True(await scope.ServiceProvider.GetRequiredService<RecipientStore>().EraseAsync(_tenant, "bob", default));
        }

        await UntilAsync(async () => await PlanAsync("bob") is null);
    }

    [Fact]
    public async Task Concurrent_frequency_cap_checks_on_two_instances_never_exceed_the_cap()
    {
        await using (var scope = _writer.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<RecipientStore>().ReplaceDefaultsAsync(_tenant, new TenantDefaults(FrequencyCaps: new FrequencyCaps(
                    new Dictionary<string, CapLimit> { ["email"] = new(PerHour: 7) }, Overall: new CapLimit(PerDay: 10))), default);
        }

        var instances = new[] { _writer, _reader }.Select(h => h.Services.GetRequiredService<IRecipientPreferences>()).ToArray();

        Task<CapDecision[]> Burst(string channel, NotificationPriority priority, string category = "news") => Task.WhenAll(Enumerable.Range(0, 60).Select(i =>
            Task.Run(() => instances[i % 2].TryConsumeFrequencyCapAsync(new CapRequest(_tenant, "carol", channel, category, priority), default))));

        var email = await Burst("email", NotificationPriority.Normal);
        Assert.Equal(7, email.Count(d => d.Allowed));
        Assert.All(email.Where(d => !d.Allowed), d => Assert.Equal("email per hour", d.Cap));

        // The overall cap counts the 7 emails: only 3 more messages today, on any channel.
        var sms = await Burst("sms", NotificationPriority.Low);
        Assert.Equal(3, sms.Count(d => d.Allowed));
        Assert.All(sms.Where(d => !d.Allowed), d => Assert.Equal("overall per day", d.Cap));

        // Critical priority and transactional messages are neither capped nor counted.
        Assert.All(await Burst("email", NotificationPriority.Critical), d => Assert.True(d.Allowed));
        Assert.All(await Burst("email", NotificationPriority.Normal, MandatoryCategories.Transactional), d => Assert.True(d.Allowed));
        Assert.False((await instances[0].TryConsumeFrequencyCapAsync(new CapRequest(_tenant, "carol", "push", "news", NotificationPriority.Normal), default)).Allowed);
    }

    private async Task UpsertAsync(string userId, RecipientProfileFields fields)
    {
        await using var scope = _writer.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<RecipientStore>().UpsertProfilesAsync(_tenant, [(userId, fields)], default);
    }

    private async Task ChangeAsync(string userId, Action<Recipient> change)
    {
        await using var scope = _writer.Services.CreateAsyncScope();
        Assert.NotNull(await scope.ServiceProvider.GetRequiredService<RecipientStore>().ChangeAsync(_tenant, userId, create: false, change, default));
    }

    private Task<RecipientPlan?> PlanAsync(string userId, string category = "marketing") =>
        _reader.Services.GetRequiredService<IRecipientPreferences>()
            .PlanAsync(new PlanRequest(_tenant, userId, category, NotificationPriority.Normal, ["email"]), default);

    private static async Task<TimeSpan> UntilAsync(Func<Task<bool>> condition)
    {
        var watch = Stopwatch.StartNew();
        await Eventually.WaitUntilAsync(condition, TimeSpan.FromSeconds(10));
        return watch.Elapsed;
    }
}
