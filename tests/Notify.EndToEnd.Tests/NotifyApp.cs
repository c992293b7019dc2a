using Aspire.Hosting.ApplicationModel;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Notify.EndToEnd.Tests;

/// <summary>
/// The whole system started once from the AppHost (real PostgreSQL, Redis, RabbitMQ, smtp4dev, migration
/// step, API and Worker) and shared by every end-to-end test. Ports are picked freely so a running
/// AppHost on the documented ports does not get in the way.
/// </summary>
public sealed class NotifyApp : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    public string BootstrapKey { get; } = "ntf_e2e_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    /// <summary>The HMAC key recipient links are signed with (the AppHost's <c>signing-key</c>), so tests can mint tokens, e.g. expired ones.</summary>
    public string SigningKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public DistributedApplication App { get; private set; } = null!;

    public Uri ApiAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Notify_AppHost>(
            ["--Notify:ApiPort=0", "--Notify:SmtpUiPort=0", $"--Parameters:bootstrap-admin-key={BootstrapKey}",
             $"--Parameters:signing-key={SigningKey}"],
            (options, _) => options.DisableDashboard = true);
        builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));

        App = await builder.BuildAsync();
        using var cts = new CancellationTokenSource(StartTimeout);
        await App.StartAsync(cts.Token);
        await Task.WhenAll(
            App.ResourceNotifications.WaitForResourceHealthyAsync("api", cts.Token),
            App.ResourceNotifications.WaitForResourceHealthyAsync("worker", cts.Token));
        ApiAddress = App.GetEndpoint("api", "http");
    }

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }

    /// <summary>The API's recent log lines, to explain an unexpected answer in a test failure.</summary>
    /// <remarks>
    /// Read from the resource's backlog when asked: a background <c>WatchAsync</c> on the API (by name or by
    /// resource) received no lines at all under Aspire.Hosting.Testing, so failures showed an empty log.
    /// </remarks>
    public string ApiLogTail(int lines = 60)
    {
        var api = App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == "api");
        var log = App.Services.GetRequiredService<ResourceLoggerService>().GetAllAsync(api).ToBlockingEnumerable()
            .SelectMany(batch => batch).Select(line => line.Content).ToList();
        return string.Join('\n', log.TakeLast(lines));
    }

    /// <summary>A client for the API, authenticated with <paramref name="key"/> if given.</summary>
    public HttpClient Client(string? key = null)
    {
        var client = new HttpClient { BaseAddress = ApiAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>Creates a tenant as the system admin and returns its id and first admin key.</summary>
    public async Task<(Guid TenantId, string AdminKey)> CreateTenantAsync(string name, int? rateLimitPerMinute = null)
    {
        using var admin = Client(BootstrapKey);
        var response = await admin.PostAsJsonAsync("/v1/tenants", new { name, rateLimitPerMinute });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("tenant").GetProperty("id").GetGuid(), body.GetProperty("apiKey").GetProperty("key").GetString()!);
    }

    /// <summary>Creates a key with the given scopes using <paramref name="adminKey"/>; returns its id and value.</summary>
    public async Task<(Guid Id, string Key)> CreateKeyAsync(string adminKey, params string[] scopes)
    {
        using var client = Client(adminKey);
        var response = await client.PostAsJsonAsync("/v1/api-keys", new { name = "test key", scopes });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("id").GetGuid(), body.GetProperty("key").GetString()!);
    }
}

[CollectionDefinition(Name)]
public sealed class NotifyAppCollection : ICollectionFixture<NotifyApp>
{
    public const string Name = "notify-app";
}
