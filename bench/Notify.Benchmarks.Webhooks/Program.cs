using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Webhooks;
using Notify.Modules.Webhooks.Data;
using Notify.Modules.Webhooks.Domain;
using Notify.Testing;
using Npgsql;

namespace Notify.Benchmarks.Webhooks;

/// <summary>
/// Webhook deliveries per second from one Worker to a local receiver (in this process, so it shares the cores):
/// each run queues pending deliveries in PostgreSQL, as the fan-out does, and times the Worker's dispatcher
/// claiming, signing, POSTing and recording them until none is pending. Repeated and reported as the median.
/// Arguments: [runs (5)] [events per run (5000)] [endpoints (4)].
/// </summary>
internal static class Program
{
    // A typical notification status event.
    private const string Payload = """
        {"type":"notification.delivered","timestamp":"2025-03-28T09:00:00.000Z","data":{"notificationId":"0195d9a4-7c1e-7a31-9f0e-5b2c8d1e4f60","deliveryId":"0195d9a4-7c1f-7bb2-8a41-3f6e0d2c9b18","recipient":{"userId":"user-4821","address":"ana@example.com"},"channel":"email","provider":"smtp","templateKey":"order-shipped","status":"delivered","attempt":1,"occurredAt":"2025-03-28T09:00:00.000Z"}}
        """;

    public static async Task<int> Main(string[] args)
    {
        var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        var events = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5000;
        var endpointCount = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 4;

        Console.WriteLine("starting PostgreSQL, Redis, RabbitMQ ...");
        var infrastructure = new Infrastructure();
        await infrastructure.InitializeAsync();
        try
        {
            var database = await infrastructure.CreateDatabaseAsync("webhooks_bench");
            await using var receiver = await StartReceiverAsync();
            using var worker = await StartWorkerAsync(infrastructure, database);
            var tenantId = Guid.CreateVersion7();
            await CreateEndpointsAsync(worker, tenantId, receiver.Url, endpointCount);

            await using var dataSource = NpgsqlDataSource.Create(database);
            var deliveries = events * endpointCount;
            Console.WriteLine($"{runs} runs of {events:N0} events x {endpointCount} endpoints = {deliveries:N0} deliveries each; "
                + $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");

            // Warm-up: connections, JIT, the pool of HTTP connections.
            await RunAsync(dataSource, receiver, tenantId, Math.Max(1, events / 5), endpointCount);
            var rates = new List<double>(runs);
            for (var run = 0; run < runs; run++)
            {
                var elapsed = await RunAsync(dataSource, receiver, tenantId, events, endpointCount);
                rates.Add(deliveries / elapsed.TotalSeconds);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {run + 1}: {deliveries:N0} deliveries in {elapsed.TotalSeconds:N2} s = {rates[^1]:N0}/s"));
            }

            var median = rates.Order().ElementAt(rates.Count / 2);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"webhook deliveries: median {median:N0}/s (signed POST to a local receiver, attempt recorded)"));
            await worker.StopAsync();
            return 0;
        }
        finally
        {
            await infrastructure.DisposeAsync();
        }
    }

    private static async Task<TimeSpan> RunAsync(NpgsqlDataSource dataSource, Receiver receiver, Guid tenantId, int events, int endpoints)
    {
        var before = receiver.Count;
        var clock = Stopwatch.StartNew();
        // The fan-out's result, written in one statement: the events and one due delivery per endpoint.
        await using (var insert = dataSource.CreateCommand("""
            WITH ev AS (
              INSERT INTO webhooks.events (id, tenant_id, type, payload, created_at)
              SELECT gen_random_uuid(), $1, 'notification.delivered', $2, now() FROM generate_series(1, $3)
              RETURNING id)
            INSERT INTO webhooks.deliveries (id, tenant_id, endpoint_id, event_id, status, attempt_count, next_attempt_at, created_at, updated_at)
            SELECT gen_random_uuid(), $1, e.id, ev.id, 'Pending', 0, now(), now(), now()
            FROM ev CROSS JOIN webhooks.endpoints e WHERE e.tenant_id = $1
            """))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = tenantId });
            insert.Parameters.Add(new NpgsqlParameter { Value = Payload });
            insert.Parameters.Add(new NpgsqlParameter { Value = events });
            await insert.ExecuteNonQueryAsync();
        }

        var queued = clock.Elapsed;
        clock.Restart();
        await using var pending = dataSource.CreateCommand("SELECT count(*) FROM webhooks.deliveries WHERE status = 'Pending'");
        while ((long)(await pending.ExecuteScalarAsync())! > 0)
        {
            await Task.Delay(20);
        }

        var elapsed = clock.Elapsed;
        var received = receiver.Count - before;
        if (received < events * endpoints)
        {
            throw new InvalidOperationException($"the receiver got {received} of {events * endpoints} deliveries");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  queued {events * endpoints:N0} deliveries in {queued.TotalMilliseconds:N0} ms"));
        return elapsed;
    }

    private static async Task<IHost> StartWorkerAsync(Infrastructure infrastructure, string database)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"ConnectionStrings:{ModuleHostExtensions.DatabaseConnectionName}"] = database,
            [$"ConnectionStrings:{ModuleHostExtensions.RedisConnectionName}"] = infrastructure.RedisConnectionString,
            [$"ConnectionStrings:{ModuleHostExtensions.RabbitMqConnectionName}"] = infrastructure.RabbitMqConnectionString,
            ["Notify:Webhooks:AllowPrivateAddresses"] = "true",
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // EF logs its probe of the not-yet-created migrations history table as an error on a fresh database.
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.Critical);
        var module = new WebhooksModule();
        builder.AddNotifyModules(HostRole.Worker, module);
        var host = builder.Build();
        await module.MigrateAsync(host.Services, CancellationToken.None);
        await host.StartAsync();
        return host;
    }

    private static async Task CreateEndpointsAsync(IHost worker, Guid tenantId, string url, int count)
    {
        await using var scope = worker.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<WebhooksDbContext>();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < count; i++)
        {
            db.Endpoints.Add(new WebhookEndpoint
            {
                Id = Guid.CreateVersion7(), TenantId = tenantId, Url = $"{url}/{i}", EventTypes = ["*"],
                Secret = WebhookSigner.NewSecret(), CreatedAt = now, UpdatedAt = now,
            });
        }

        await db.SaveChangesAsync();
    }

    private static async Task<Receiver> StartReceiverAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new Receiver(app);
        app.MapPost("/hooks/{n}", async (HttpContext context) =>
        {
            // Read the body as a real receiver would before answering.
            await context.Request.Body.CopyToAsync(Stream.Null);
            Interlocked.Increment(ref receiver.Received);
            return Results.Ok();
        });
        await app.StartAsync();
        receiver.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single() + "/hooks";
        return receiver;
    }

    private sealed class Receiver(WebApplication app) : IAsyncDisposable
    {
        public long Received;

        public string Url { get; set; } = "";

        public long Count => Interlocked.Read(ref Received);

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
