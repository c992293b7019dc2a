using System.Net;
using System.Net.Sockets;
using Npgsql;
using RabbitMQ.Client;
using StackExchange.Redis;
using Xunit;

namespace Notify.Testing;

/// <summary>
/// Real PostgreSQL, Redis and RabbitMQ for one test run, started from the machine's packages with the
/// scripts the AppHost uses. Share one instance per test assembly (an xunit collection fixture) and give
/// each test class its own database with <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class Infrastructure : IAsyncLifetime
{
    private const string Password = "notify-test";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly string _dataDir;
    private readonly int _postgresPort = FreePort();
    private readonly int _redisPort = FreePort();
    private readonly int _rabbitPort = FreePort();
    private readonly int _rabbitDistPort = FreePort();

    public Infrastructure()
    {
        // Every run gets its own folder; eng/test.sh removes it (and anything left running from it).
        var root = Environment.GetEnvironmentVariable("NOTIFY_TEST_DATA") ?? Path.Combine(Path.GetTempPath(), "notify-tests");
        _dataDir = Path.Combine(root, Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_dataDir);
        if (!OperatingSystem.IsWindows())
        {
            // The postgres user must be able to reach its data folder below ours.
            File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
            File.SetUnixFileMode(_dataDir, (UnixFileMode)0b111_101_101);
        }

        Postgres = new LocalServer("postgres", Env(("PORT", _postgresPort), ("POSTGRES_PASSWORD", Password), ("POSTGRES_DB", "postgres")), fastStopWithSigInt: true);
        Redis = new LocalServer("redis", Env(("PORT", _redisPort), ("REDIS_PASSWORD", Password)));
        RabbitMq = new LocalServer("rabbitmq", Env(("PORT", _rabbitPort), ("RABBITMQ_DIST_PORT", _rabbitDistPort), ("RABBITMQ_USER", "notify"), ("RABBITMQ_PASSWORD", Password)));
    }

    public LocalServer Postgres { get; }
    public LocalServer Redis { get; }
    public LocalServer RabbitMq { get; }

    public string PostgresAdminConnectionString => DatabaseConnectionString("postgres");
    public string RedisConnectionString => $"127.0.0.1:{_redisPort},password={Password},abortConnect=false";
    public string RabbitMqConnectionString => $"amqp://notify:{Password}@127.0.0.1:{_rabbitPort}/";

    public string DatabaseConnectionString(string database) =>
        $"Host=127.0.0.1;Port={_postgresPort};Username=postgres;Password={Password};Database={database};Maximum Pool Size=50";

    public async Task InitializeAsync()
    {
        Postgres.Start();
        Redis.Start();
        RabbitMq.Start();
        await Task.WhenAll(WaitForPostgresAsync(), WaitForRedisAsync(), WaitForRabbitMqAsync());
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(Postgres.DisposeAsync().AsTask(), Redis.DisposeAsync().AsTask(), RabbitMq.DisposeAsync().AsTask());
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // eng/test.sh removes what is left.
        }
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)].ToLowerInvariant();
        await using var connection = new NpgsqlConnection(PostgresAdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return DatabaseConnectionString(name);
    }

    public async Task StartRabbitMqAgainAsync()
    {
        RabbitMq.Start();
        await WaitForRabbitMqAsync();
    }

    private Task WaitForPostgresAsync() => Postgres.WaitUntilReadyAsync(async ct =>
    {
        await using var connection = new NpgsqlConnection(PostgresAdminConnectionString);
        await connection.OpenAsync(ct);
    }, StartTimeout);

    private Task WaitForRedisAsync() => Redis.WaitUntilReadyAsync(async _ =>
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(RedisConnectionString.Replace("abortConnect=false", "abortConnect=true", StringComparison.Ordinal));
        await redis.GetDatabase().PingAsync();
    }, StartTimeout);

    private Task WaitForRabbitMqAsync() => RabbitMq.WaitUntilReadyAsync(async ct =>
    {
        var factory = new ConnectionFactory { Uri = new Uri(RabbitMqConnectionString) };
        await using var connection = await factory.CreateConnectionAsync(ct);
    }, StartTimeout);

    private Dictionary<string, string> Env(params (string Key, object Value)[] values)
    {
        var env = values.ToDictionary(v => v.Key, v => Convert.ToString(v.Value, System.Globalization.CultureInfo.InvariantCulture)!);
        env["NOTIFY_DATA_DIR"] = _dataDir;
        return env;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
