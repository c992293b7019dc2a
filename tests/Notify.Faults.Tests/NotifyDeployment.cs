using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Notify.Testing;
using Npgsql;

namespace Notify.Faults.Tests;

/// <summary>
/// One Notify deployment as real processes, the way the AppHost wires them: migrations run once, then Notify.Api and
/// Notify.Worker with connection strings in environment variables, against this run's PostgreSQL, Redis, RabbitMQ
/// and the given SMTP server. The Worker can be killed and started again.
/// </summary>
internal sealed class NotifyDeployment : IAsyncDisposable
{
    private readonly Dictionary<string, string> _environment;
    private readonly Dictionary<string, string> _workerEnvironment;
    private ChildProcess? _api;

    private NotifyDeployment(string database, Dictionary<string, string> environment, Dictionary<string, string> workerEnvironment, Uri apiAddress)
    {
        Database = database;
        _environment = environment;
        _workerEnvironment = workerEnvironment;
        ApiAddress = apiAddress;
    }

    public string Database { get; }

    public Uri ApiAddress { get; }

    public string BootstrapKey { get; } = "ntf_faults_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public ChildProcess? Worker { get; private set; }

    /// <param name="workerSettings">Extra configuration of the Worker, as environment variables (<c>Notify__Email__Lease</c> …).</param>
    public static async Task<NotifyDeployment> StartAsync(Infrastructure infrastructure, string smtp, IReadOnlyDictionary<string, string> workerSettings)
    {
        var database = await infrastructure.CreateDatabaseAsync("faults");
        var apiAddress = new Uri($"http://127.0.0.1:{FreePort()}");
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__notify"] = database,
            ["ConnectionStrings__redis"] = infrastructure.RedisConnectionString,
            ["ConnectionStrings__rabbitmq"] = infrastructure.RabbitMqConnectionString,
            ["Notify__SigningKey"] = ModuleHost.SigningKey,
            ["Notify__PublicBaseUrl"] = apiAddress.ToString().TrimEnd('/'),
            ["Logging__LogLevel__Default"] = "Warning",
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        var worker = new Dictionary<string, string>(environment) { ["ConnectionStrings__smtp"] = smtp };
        foreach (var (key, value) in workerSettings)
        {
            worker[key] = value;
        }

        var deployment = new NotifyDeployment(database, environment, worker, apiAddress);
        await deployment.MigrateAsync();
        await deployment.StartApiAsync();
        await deployment.StartWorkerAsync();
        return deployment;
    }

    private async Task MigrateAsync()
    {
        await using var migrations = ChildProcess.Start("Notify.Migrations", new Dictionary<string, string>(_environment) { ["Notify__BootstrapAdminKey"] = BootstrapKey });
        await migrations.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.True(migrations.ExitCode == 0, $"migrations failed ({migrations.ExitCode}):\n{migrations.Tail}");
    }

    private async Task StartApiAsync()
    {
        _api = ChildProcess.Start("Notify.Api", new Dictionary<string, string>(_environment) { ["ASPNETCORE_URLS"] = ApiAddress.ToString() });
        await WaitUntilUpAsync(_api, new Uri(ApiAddress, "/alive"));
    }

    /// <summary>Starts the Worker (again); returns once it answers its liveness check.</summary>
    public async Task StartWorkerAsync()
    {
        var address = new Uri($"http://127.0.0.1:{FreePort()}");
        Worker = ChildProcess.Start("Notify.Worker", new Dictionary<string, string>(_workerEnvironment) { ["ASPNETCORE_URLS"] = address.ToString() });
        await WaitUntilUpAsync(Worker, new Uri(address, "/alive"));
    }

    /// <summary>SIGKILLs the Worker.</summary>
    public async Task KillWorkerAsync()
    {
        await Worker!.KillAsync();
        await Worker.DisposeAsync();
        Worker = null;
    }

    public HttpClient Client(string? key = null)
    {
        var client = new HttpClient { BaseAddress = ApiAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key ?? BootstrapKey);
        return client;
    }

    /// <summary>A tenant with a rate limit that 1,000 sends do not reach; its id and admin key.</summary>
    public async Task<(Guid TenantId, string AdminKey)> CreateTenantAsync(string name)
    {
        using var admin = Client();
        var response = await admin.PostAsJsonAsync("/v1/tenants", new { name, rateLimitPerMinute = 1_000_000 });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("tenant").GetProperty("id").GetGuid(), body.GetProperty("apiKey").GetProperty("key").GetString()!);
    }

    /// <summary>Creates and publishes an email-only template <c>fault-email</c> whose subject carries <c>{{ n }}</c>.</summary>
    public static async Task PublishEmailTemplateAsync(HttpClient client)
    {
        var template = new
        {
            key = "fault-email",
            name = "Fault test email",
            category = "transactional",
            channels = new[] { "email" },
            defaultLocale = "en",
            variables = new object[] { new { name = "n", required = true } },
            variants = new[] { new { locale = "en", content = new { email = new { subject = "Fault test {{ n }}", html = "<p>Message {{ n }}</p>" } } } },
        };
        var created = await client.PostAsJsonAsync("/v1/templates", template);
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var published = await client.PostAsync("/v1/templates/fault-email/publish", null);
        Assert.True(published.StatusCode == HttpStatusCode.OK, await published.Content.ReadAsStringAsync());
    }

    /// <summary>Sends <c>fault-email</c> to the given addresses as one-off recipients, 100 per call; the notification ids.</summary>
    public static async Task<List<Guid>> SendAsync(HttpClient client, IReadOnlyList<string> addresses)
    {
        var ids = new List<Guid>();
        foreach (var chunk in addresses.Chunk(100))
        {
            var response = await client.PostAsJsonAsync("/v1/notifications", new
            {
                templateKey = "fault-email",
                recipients = chunk.Select(a => new { email = a }),
                data = new { n = chunk[0] },
            });
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            ids.AddRange(body.GetProperty("notifications").EnumerateArray().Select(n => n.GetProperty("id").GetGuid()));
        }

        return ids;
    }

    /// <summary>How many of the tenant's notifications are in <paramref name="status"/>.</summary>
    public async Task<long> CountNotificationsAsync(Guid tenantId, string status)
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM delivery.notifications WHERE tenant_id = @t AND status = @s", connection);
        command.Parameters.AddWithValue("t", tenantId);
        command.Parameters.AddWithValue("s", status);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>One number from the database (counts over the tenant's rows, say).</summary>
    public async Task<long> ScalarAsync(string sql, Guid tenantId)
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("t", tenantId);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        if (Worker is not null)
        {
            await Worker.DisposeAsync();
        }

        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
    }

    private static async Task WaitUntilUpAsync(ChildProcess process, Uri probe)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            Assert.False(process.HasExited, $"the process exited while starting:\n{process.Tail}");
            try
            {
                if ((await http.GetAsync(probe)).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow to answer: try again.
            }

            Assert.True(DateTime.UtcNow < deadline, $"{probe} did not answer in time:\n{process.Tail}");
            await Task.Delay(200);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
