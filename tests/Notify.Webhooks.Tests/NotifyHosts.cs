using System.Net.Http.Headers;
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
using Notify.Modules.Access;
using Notify.Modules.Webhooks;
using Notify.Modules.Webhooks.Data;
using Notify.Testing;

namespace Notify.Webhooks.Tests;

/// <summary>
/// One database with every module's schema, the real API host (in-process, on a free port) and Worker hosts
/// that load the modules the way Notify.Worker does; each with its own <c>Notify:Webhooks</c> settings.
/// </summary>
internal sealed class NotifyHosts(Infrastructure infrastructure) : IAsyncDisposable
{
    private readonly List<IHost> _hosts = [];

    public string BootstrapKey { get; } = "ntf_test_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public string Database { get; private set; } = "";

    public Uri ApiAddress { get; private set; } = null!;

    /// <summary>Fast settings for tests: retries in a second, short timeouts, quick polling; localhost receivers allowed.</summary>
    public static Dictionary<string, string?> FastWebhooks(params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Notify:Webhooks:AllowPrivateAddresses"] = "true",
            ["Notify:Webhooks:RetrySchedule:0"] = "00:00:01",
            ["Notify:Webhooks:RetrySchedule:1"] = "00:00:01",
            ["Notify:Webhooks:RetrySchedule:2"] = "00:00:01",
            ["Notify:Webhooks:RetryJitter"] = "0",
            ["Notify:Webhooks:AttemptTimeout"] = "00:00:02",
            ["Notify:Webhooks:PollInterval"] = "00:00:00.100",
        };
        foreach (var (key, value) in overrides)
        {
            settings[$"Notify:Webhooks:{key}"] = value;
        }

        return settings;
    }

    /// <summary>Creates the database and runs every module's migrations (registering the bootstrap admin key).</summary>
    public async Task MigrateAsync()
    {
        Database = await infrastructure.CreateDatabaseAsync("webhooks");
        var builder = Host.CreateApplicationBuilder();
        Configure(builder.Configuration, new() { ["Notify:BootstrapAdminKey"] = BootstrapKey });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddNotifyModules(HostRole.Migrations, ModuleCatalog.All);
        using var host = builder.Build();
        foreach (var module in ModuleCatalog.All)
        {
            await module.MigrateAsync(host.Services, CancellationToken.None);
        }
    }

    public async Task StartApiAsync(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        Configure(builder.Configuration, settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddNotifyApi();
        var app = builder.Build();
        app.UseNotifyApi();
        await app.StartAsync();
        _hosts.Add(app);
        ApiAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    /// <summary>A Worker: Access (audit) and Webhooks consumers, relays and the webhook dispatcher.</summary>
    public async Task<IHost> StartWorkerAsync(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        Configure(builder.Configuration, settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddNotifyModules(HostRole.Worker, new AccessModule(), new WebhooksModule());
        var host = builder.Build();
        await host.StartAsync();
        _hosts.Add(host);
        return host;
    }

    public async Task StopAsync(IHost host)
    {
        await host.StopAsync();
        host.Dispose();
        _hosts.Remove(host);
    }

    public HttpClient Client(string? key = null)
    {
        var client = new HttpClient { BaseAddress = ApiAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key ?? BootstrapKey);
        return client;
    }

    /// <summary>Creates a tenant as the system admin; returns its id and first admin key.</summary>
    public async Task<(Guid TenantId, string AdminKey)> CreateTenantAsync(string name)
    {
        using var admin = Client();
        var response = await admin.PostAsJsonAsync("/v1/tenants", new { name });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("tenant").GetProperty("id").GetGuid(), body.GetProperty("apiKey").GetProperty("key").GetString()!);
    }

    /// <summary>Runs <paramref name="work"/> against the webhooks schema, as the tests' window into stored state.</summary>
    public async Task<T> QueryAsync<T>(Func<WebhooksDbContext, Task<T>> work)
    {
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(Database);
        var options = new DbContextOptionsBuilder<WebhooksDbContext>();
        options.UseModuleDefaults(dataSource, WebhooksDbContext.Schema);
        await using var db = new WebhooksDbContext(options.Options);
        return await work(db);
    }

    private void Configure(IConfigurationBuilder configuration, Dictionary<string, string?> settings)
    {
        var all = infrastructure.HostSettings(Database);
        foreach (var (key, value) in settings)
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
