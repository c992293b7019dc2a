using System.Net.Sockets;
using System.Text.Json;
using Notify.Testing;

namespace Notify.Faults.Tests;

/// <summary>
/// This run's PostgreSQL, Redis and RabbitMQ, smtp4dev (started by <c>eng/local/smtp4dev.sh</c> as the AppHost does)
/// and one deployment (API + Worker processes) whose email goes to smtp4dev. Shared by every fault test.
/// </summary>
public sealed class FaultsFixture : IAsyncLifetime
{
    private readonly int _smtpPort = FreePort();
    private readonly int _smtpHttpPort = FreePort();
    private readonly string _dataDir;
    private LocalServer _smtp4dev = null!;

    public FaultsFixture()
    {
        var root = Environment.GetEnvironmentVariable("NOTIFY_TEST_DATA") ?? Path.Combine(Path.GetTempPath(), "notify-tests");
        _dataDir = Path.Combine(root, "faults-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dataDir);
    }

    public Infrastructure Infrastructure { get; } = new();

    internal NotifyDeployment Deployment { get; private set; } = null!;

    /// <summary>smtp4dev's REST API.</summary>
    public Uri Smtp4dev => new($"http://127.0.0.1:{_smtpHttpPort}");

    public async Task InitializeAsync()
    {
        _smtp4dev = new LocalServer("smtp4dev", new Dictionary<string, string>
        {
            ["NOTIFY_DATA_DIR"] = _dataDir,
            ["SMTP_PORT"] = _smtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["HTTP_PORT"] = _smtpHttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MESSAGES_TO_KEEP"] = "100000",
        });
        _smtp4dev.Start();
        await Task.WhenAll(Infrastructure.InitializeAsync(), _smtp4dev.WaitUntilReadyAsync(async ct =>
        {
            using var http = new HttpClient();
            (await http.GetAsync(new Uri(Smtp4dev, "/api/messages?pageSize=1"), ct)).EnsureSuccessStatusCode();
        }, TimeSpan.FromSeconds(60)));
        Deployment = await NotifyDeployment.StartAsync(Infrastructure, $"smtp://127.0.0.1:{_smtpPort}", new Dictionary<string, string>
        {
            // A killed Worker's claimed deliveries come back after 5 s rather than 2 minutes.
            ["Notify__Email__Lease"] = "00:00:05",
            ["Notify__Email__PollInterval"] = "00:00:00.100",
        });
    }

    public async Task DisposeAsync()
    {
        if (Deployment is not null)
        {
            await Deployment.DisposeAsync();
        }

        await _smtp4dev.DisposeAsync();
        await Infrastructure.DisposeAsync();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // eng/test.sh removes what is left.
        }
    }

    /// <summary>The messages smtp4dev holds whose recipient ends with <paramref name="domain"/>: smtp4dev id and recipient.</summary>
    public async Task<List<(string Id, string To)>> MessagesToAsync(string domain)
    {
        using var http = new HttpClient { BaseAddress = Smtp4dev, Timeout = TimeSpan.FromSeconds(60) };
        var page = await http.GetFromJsonAsync<JsonElement>("/api/messages?pageSize=100000");
        return page.GetProperty("results").EnumerateArray()
            .Select(m => (Id: m.GetProperty("id").GetString()!, To: m.GetProperty("to").EnumerateArray().Select(t => t.GetString()!).FirstOrDefault() ?? ""))
            .Where(m => m.To.EndsWith(domain, StringComparison.OrdinalIgnoreCase))
            .ToList();
    }

    /// <summary>The Message-ID header of each message (read from smtp4dev one by one, a few at a time).</summary>
    public async Task<List<string>> MessageIdsAsync(IEnumerable<string> smtp4devIds)
    {
        using var http = new HttpClient { BaseAddress = Smtp4dev, Timeout = TimeSpan.FromSeconds(60) };
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(smtp4devIds, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, ct) =>
        {
            var message = await http.GetFromJsonAsync<JsonElement>($"/api/messages/{id}", ct);
            ids.Add(message.GetProperty("headers").EnumerateArray()
                .First(h => string.Equals(h.GetProperty("name").GetString(), "Message-ID", StringComparison.OrdinalIgnoreCase))
                .GetProperty("value").GetString()!);
        });
        return [.. ids];
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class FaultsCollection : ICollectionFixture<FaultsFixture>
{
    public const string Name = "faults";
}
