using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Api;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Abstractions.Scheduling;
using Notify.Modules.Access;
using Notify.Modules.Delivery;
using Notify.Modules.Preferences;
using Notify.Modules.Templates;
using Notify.Modules.Webhooks;
using Notify.Testing;
using Npgsql;
using Quartz;

namespace Notify.Delivery.Tests;

/// <summary>
/// The whole pipeline in process: one database with every module's schema and Quartz's tables, the real API host, and
/// a Worker loaded like Notify.Worker (consumers, relays, senders, clustered Quartz jobs) whose clock the test sets,
/// sending email to a local SMTP server.
/// </summary>
internal sealed class PipelineHosts(Infrastructure infrastructure) : IAsyncDisposable
{
    private readonly List<IHost> _hosts = [];

    private static IModule[] Modules => [new AccessModule(), new TemplatesModule(), new PreferencesModule(), new WebhooksModule(), new DeliveryModule()];

    public string BootstrapKey { get; } = "ntf_test_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public string Database { get; private set; } = "";

    public Uri ApiAddress { get; private set; } = null!;

    public IHost Worker { get; private set; } = null!;

    public async Task StartAsync(TimeProvider workerClock, int smtpPort)
    {
        Database = await infrastructure.CreateDatabaseAsync("pipeline");
        var settings = infrastructure.HostSettings(Database);
        settings["Notify:BootstrapAdminKey"] = BootstrapKey;
        settings["Notify:Webhooks:AllowPrivateAddresses"] = "true";
        settings["Notify:Webhooks:PollInterval"] = "00:00:00.100";
        settings["ConnectionStrings:smtp"] = $"smtp://127.0.0.1:{smtpPort}";

        var migrations = Host.CreateApplicationBuilder();
        migrations.Configuration.AddInMemoryCollection(settings);
        migrations.Logging.SetMinimumLevel(LogLevel.Warning);
        migrations.AddNotifyModules(HostRole.Migrations, Modules);
        using (var host = migrations.Build())
        {
            foreach (var module in Modules)
            {
                await module.MigrateAsync(host.Services, CancellationToken.None);
            }
        }

        await using (var dataSource = NpgsqlDataSource.Create(Database))
        {
            await QuartzSchema.EnsureCreatedAsync(dataSource, CancellationToken.None);
        }

        var api = WebApplication.CreateBuilder();
        api.WebHost.UseUrls("http://127.0.0.1:0");
        api.Configuration.AddInMemoryCollection(settings);
        api.Logging.SetMinimumLevel(LogLevel.Warning);
        api.AddNotifyApi();
        var app = api.Build();
        app.UseNotifyApi();
        await app.StartAsync();
        _hosts.Add(app);
        ApiAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

        var worker = Host.CreateApplicationBuilder();
        worker.Configuration.AddInMemoryCollection(settings);
        worker.Logging.SetMinimumLevel(LogLevel.Warning);
        worker.AddNotifyModules(HostRole.Worker, Modules);
        // An idle node looks for due triggers every IdleWaitTime (30 s by default).
        worker.AddNotifyScheduling(quartz => quartz.ConfigureScheduler(scheduler => scheduler.IdleWaitTime = TimeSpan.FromSeconds(1)));
        worker.Services.AddSingleton(workerClock);
        Worker = worker.Build();
        await Worker.StartAsync();
        _hosts.Add(Worker);
    }

    public HttpClient Client(string? key = null)
    {
        var client = new HttpClient { BaseAddress = ApiAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key ?? BootstrapKey);
        return client;
    }

    /// <summary>Creates a tenant as the system admin; returns its first admin key.</summary>
    public async Task<string> CreateTenantAsync(string name)
    {
        using var admin = Client();
        var response = await admin.PostAsJsonAsync("/v1/tenants", new { name });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("apiKey").GetProperty("key").GetString()!;
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
