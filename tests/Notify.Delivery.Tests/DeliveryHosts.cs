using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Api;
using Notify.Modules;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Abstractions.Scheduling;
using Notify.Modules.Delivery;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Preferences;
using Notify.Modules.Templates;
using Notify.Modules.Templates.Contracts;
using Notify.Testing;
using Npgsql;

namespace Notify.Delivery.Tests;

/// <summary>
/// One database with every module's schema and Quartz's tables, real API hosts (in-process, each on its own port, like
/// replicas) and Worker hosts loaded like Notify.Worker (consumers, relays, senders, clustered Quartz jobs), all
/// configured with this run's servers and <paramref name="settings"/>.
/// </summary>
internal sealed class DeliveryHosts(Infrastructure infrastructure, Dictionary<string, string?>? settings = null) : IAsyncDisposable
{
    private readonly List<IHost> _hosts = [];

    public string BootstrapKey { get; } = "ntf_test_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public string Database { get; private set; } = "";

    /// <summary>Extra logging for the API and Worker hosts (a capturing provider, say), applied after the defaults.</summary>
    public Action<ILoggingBuilder>? Logging { get; init; }

    public async Task MigrateAsync()
    {
        Database = await infrastructure.CreateDatabaseAsync("delivery");
        var builder = Host.CreateApplicationBuilder();
        Configure(builder.Configuration);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Migrating probes each history table before it exists; EF logs that probe as an error.
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.None);
        builder.AddNotifyModules(HostRole.Migrations, ModuleCatalog.All);
        using (var host = builder.Build())
        {
            foreach (var module in ModuleCatalog.All)
            {
                await module.MigrateAsync(host.Services, CancellationToken.None);
            }
        }

        await using var dataSource = NpgsqlDataSource.Create(Database);
        await QuartzSchema.EnsureCreatedAsync(dataSource, CancellationToken.None);
    }

    /// <summary>An API replica; returns its address.</summary>
    public async Task<Uri> StartApiAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        Configure(builder.Configuration);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        Logging?.Invoke(builder.Logging);
        builder.AddNotifyApi();
        var app = builder.Build();
        app.UseNotifyApi();
        await app.StartAsync();
        _hosts.Add(app);
        return new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    /// <summary>A Worker as Notify.Worker loads it, on <paramref name="clock"/> if given (a test that moves time).</summary>
    public async Task<IHost> StartWorkerAsync(TimeProvider? clock = null)
    {
        var builder = Host.CreateApplicationBuilder();
        Configure(builder.Configuration);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        Logging?.Invoke(builder.Logging);
        builder.AddNotifyModules(HostRole.Worker, ModuleCatalog.All);
        // An idle node looks for due triggers every IdleWaitTime (30 s by default).
        builder.AddNotifyScheduling(quartz => quartz.ConfigureScheduler(scheduler => scheduler.IdleWaitTime = TimeSpan.FromSeconds(1)));
        if (clock is not null)
        {
            builder.Services.AddSingleton(clock);
        }

        var host = builder.Build();
        await host.StartAsync();
        _hosts.Add(host);
        return host;
    }

    /// <summary>A host with the Delivery services but no background sender: tests drive senders themselves.</summary>
    public async Task<IHost> StartIdleHostAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        Configure(builder.Configuration);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddNotifyModules(HostRole.Api, new TemplatesModule(), new PreferencesModule(), new DeliveryModule());
        var host = builder.Build();
        await host.StartAsync();
        _hosts.Add(host);
        return host;
    }

    public static HttpClient Client(Uri api, string? bearer)
    {
        var client = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(60) };
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return client;
    }

    /// <summary>Creates a tenant as the system admin; returns its id and first admin key.</summary>
    public async Task<(Guid TenantId, string AdminKey)> CreateTenantAsync(Uri api, string name)
    {
        using var admin = Client(api, BootstrapKey);
        var response = await admin.PostAsJsonAsync("/v1/tenants", new { name });
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("tenant").GetProperty("id").GetGuid(), body.GetProperty("apiKey").GetProperty("key").GetString()!);
    }

    /// <summary>
    /// Stores a notification to <paramref name="userId"/> that the planner already handled, with a queued in-app
    /// delivery carrying rendered content — what a sender finds. No outbox event, so no planner runs for it.
    /// </summary>
    public async Task<(Guid NotificationId, Guid DeliveryId)> QueueInAppAsync(Guid tenantId, string userId, string title, string category = "updates")
    {
        var ids = await QueueInAppAsync(tenantId, Enumerable.Repeat(userId, 1).ToList(), title, category);
        return ids[0];
    }

    public Task<List<(Guid NotificationId, Guid DeliveryId)>> QueueInAppAsync(Guid tenantId, IReadOnlyList<string> userIds, string title, string category = "updates") =>
        QueueAsync(tenantId, Channels.InApp, [.. userIds.Select(u => (u, (string?)null))],
            new RenderedMessage(Channels.InApp, "en", Title: title, Body: $"Body of {title}", ActionUrl: "https://example.com/orders/A-1"), category);

    /// <summary>
    /// Stores, per recipient, a notification the planner already handled with one queued delivery on
    /// <paramref name="channel"/> carrying <paramref name="content"/> — what a sender finds. No outbox event, so no planner runs.
    /// </summary>
    public async Task<List<(Guid NotificationId, Guid DeliveryId)>> QueueAsync(
        Guid tenantId, string channel, IReadOnlyList<(string? UserId, string? Address)> recipients, RenderedMessage content, string category = "updates",
        string? device = null)
    {
        var ids = new List<(Guid, Guid)>();
        await WithDbAsync(async db =>
        {
            foreach (var (userId, address) in recipients)
            {
                var (id, createdAt) = UuidV7.New(TimeProvider.System);
                db.Notifications.Add(new Notification
                {
                    Id = id, TenantId = tenantId, TemplateKey = "news", TemplateVersion = 1, Category = category, Priority = "normal",
                    UserId = userId, Channels = [channel], Status = NotificationStatus.Processing, CreatedAt = createdAt, UpdatedAt = createdAt,
                    Data = JsonDocument.Parse("""{"orderId":"A-1"}"""),
                });
                var delivery = new ChannelDelivery
                {
                    Id = Guid.CreateVersion7(), TenantId = tenantId, NotificationId = id, Channel = channel, Status = DeliveryStatus.Queued,
                    Priority = 2, Address = address, Device = device, CreatedAt = createdAt, UpdatedAt = createdAt,
                    Content = JsonSerializer.Serialize(content, JsonSerializerOptions.Web),
                };
                db.Deliveries.Add(delivery);
                ids.Add((id, delivery.Id));
            }

            await db.SaveChangesAsync();
            return 0;
        });
        return ids;
    }

    /// <summary>The tests' window into stored state.</summary>
    public async Task<T> WithDbAsync<T>(Func<DeliveryDbContext, Task<T>> work)
    {
        await using var dataSource = NpgsqlDataSource.Create(Database);
        var options = new DbContextOptionsBuilder<DeliveryDbContext>();
        options.UseModuleDefaults(dataSource, DeliveryDbContext.Schema);
        await using var db = new DeliveryDbContext(options.Options);
        return await work(db);
    }

    private void Configure(IConfigurationBuilder configuration)
    {
        var all = infrastructure.HostSettings(Database);
        all["Notify:BootstrapAdminKey"] = BootstrapKey;
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        configuration.AddInMemoryCollection(all);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in Enumerable.Reverse(_hosts).ToList())
        {
            await host.StopAsync();
            host.Dispose();
        }
    }
}
