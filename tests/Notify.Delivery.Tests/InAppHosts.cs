using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
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
using Notify.Modules.Delivery;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Preferences;
using Notify.Modules.Templates;
using Notify.Modules.Templates.Contracts;
using Notify.Testing;

namespace Notify.Delivery.Tests;

/// <summary>
/// One database with every module's schema, real API hosts (in-process, each on its own port, like replicas) and
/// Worker hosts that load the modules the Worker needs for the in-app channel.
/// </summary>
internal sealed class InAppHosts(Infrastructure infrastructure) : IAsyncDisposable
{
    private readonly List<IHost> _hosts = [];

    public string BootstrapKey { get; } = "ntf_test_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public string Database { get; private set; } = "";

    public async Task MigrateAsync()
    {
        Database = await infrastructure.CreateDatabaseAsync("inapp");
        var builder = Host.CreateApplicationBuilder();
        Configure(builder.Configuration, new() { ["Notify:BootstrapAdminKey"] = BootstrapKey });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Migrating probes each history table before it exists; EF logs that probe as an error.
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.None);
        builder.AddNotifyModules(HostRole.Migrations, ModuleCatalog.All);
        using var host = builder.Build();
        foreach (var module in ModuleCatalog.All)
        {
            await module.MigrateAsync(host.Services, CancellationToken.None);
        }
    }

    /// <summary>An API replica; returns its address.</summary>
    public async Task<Uri> StartApiAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        Configure(builder.Configuration, []);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddNotifyApi();
        var app = builder.Build();
        app.UseNotifyApi();
        await app.StartAsync();
        _hosts.Add(app);
        return new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    /// <summary>A Worker with the Delivery pipeline (and the modules it calls): its in-app sender runs in the background.</summary>
    public async Task<IHost> StartWorkerAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        Configure(builder.Configuration, []);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddNotifyModules(HostRole.Worker, new TemplatesModule(), new PreferencesModule(), new DeliveryModule());
        var host = builder.Build();
        await host.StartAsync();
        _hosts.Add(host);
        return host;
    }

    /// <summary>A host with the Delivery services but no background sender: tests drive senders themselves.</summary>
    public async Task<IHost> StartIdleHostAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        Configure(builder.Configuration, []);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddNotifyModules(HostRole.Api, new TemplatesModule(), new PreferencesModule(), new DeliveryModule());
        var host = builder.Build();
        await host.StartAsync();
        _hosts.Add(host);
        return host;
    }

    public static HttpClient Client(Uri api, string? bearer)
    {
        var client = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(30) };
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

    public async Task<List<(Guid NotificationId, Guid DeliveryId)>> QueueInAppAsync(Guid tenantId, IReadOnlyList<string> userIds, string title, string category = "updates")
    {
        var ids = new List<(Guid, Guid)>();
        await WithDbAsync(async db =>
        {
            foreach (var userId in userIds)
            {
                var (id, createdAt) = UuidV7.New(TimeProvider.System);
                db.Notifications.Add(new Notification
                {
                    Id = id, TenantId = tenantId, TemplateKey = "news", TemplateVersion = 1, Category = category, Priority = "normal",
                    UserId = userId, Channels = [Channels.InApp], Status = NotificationStatus.Processing, CreatedAt = createdAt, UpdatedAt = createdAt,
                    Data = JsonDocument.Parse("""{"orderId":"A-1"}"""),
                });
                var delivery = new ChannelDelivery
                {
                    Id = Guid.CreateVersion7(), TenantId = tenantId, NotificationId = id, Channel = Channels.InApp, Status = DeliveryStatus.Queued,
                    Priority = 2, CreatedAt = createdAt, UpdatedAt = createdAt,
                    Content = JsonSerializer.Serialize(
                        new RenderedMessage(Channels.InApp, "en", Title: title, Body: $"Body of {title}", ActionUrl: "https://example.com/orders/A-1"),
                        JsonSerializerOptions.Web),
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
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(Database);
        var options = new DbContextOptionsBuilder<DeliveryDbContext>();
        options.UseModuleDefaults(dataSource, DeliveryDbContext.Schema);
        await using var db = new DeliveryDbContext(options.Options);
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

/// <summary>One Server-Sent Event as a client sees it.</summary>
internal sealed record SseEvent(string? Id, string Event, string Data, DateTimeOffset ReceivedAt);

/// <summary>An open <c>GET /v1/inbox/stream</c>, read line by line in the background as a browser's EventSource would.</summary>
internal sealed class SseStream : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly HttpResponseMessage _response;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<SseEvent> _events = Channel.CreateUnbounded<SseEvent>();
    private readonly Task _reading;

    private SseStream(HttpClient client, HttpResponseMessage response)
    {
        _client = client;
        _response = response;
        _reading = ReadAsync();
    }

    public HttpResponseMessage Response => _response;

    public int Heartbeats { get; private set; }

    public static async Task<SseStream> OpenAsync(Uri api, string token, string? lastEventId = null)
    {
        var client = new HttpClient { BaseAddress = api, Timeout = Timeout.InfiniteTimeSpan };
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/inbox/stream?token={Uri.EscapeDataString(token)}");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return new SseStream(client, response);
    }

    /// <summary>The next event named <paramref name="name"/> (others are skipped), or a failed test after <paramref name="timeout"/>.</summary>
    public async Task<SseEvent> NextAsync(string name, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            SseEvent next;
            try
            {
                next = await _events.Reader.ReadAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No '{name}' event within {timeout}.");
            }

            if (next.Event == name)
            {
                return next;
            }
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            await using var body = await _response.Content.ReadAsStreamAsync(_stop.Token);
            using var reader = new StreamReader(body);
            string? id = null, name = null;
            var data = new List<string>();
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (data.Count > 0)
                    {
                        _events.Writer.TryWrite(new SseEvent(id, name ?? "message", string.Join('\n', data), DateTimeOffset.UtcNow));
                    }

                    id = name = null;
                    data.Clear();
                }
                else if (line.StartsWith(':'))
                {
                    Heartbeats++;
                }
                else if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    id = line[4..];
                }
                else if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line[7..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data.Add(line[6..]);
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        _client.Dispose();
        try
        {
            await _reading;
        }
        catch (Exception)
        {
            // Reading ends with the connection.
        }

        _stop.Dispose();
    }
}
