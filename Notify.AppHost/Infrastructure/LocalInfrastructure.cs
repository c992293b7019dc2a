using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using RabbitMQ.Client;
using StackExchange.Redis;

namespace Notify.AppHost.Infrastructure;

/// <summary>
/// PostgreSQL, Redis, RabbitMQ and smtp4dev as executables from the machine's packages, for machines
/// with no container runtime. Each runs <c>eng/local/&lt;server&gt;.sh</c> (the same scripts the tests
/// use), on free ports, with its data under a folder private to this run. DCP stops them with the AppHost.
/// </summary>
internal static class LocalInfrastructure
{
    private const string RabbitMqUser = "notify";

    public static NotifyInfrastructure AddLocalInfrastructure(this IDistributedApplicationBuilder builder, int? smtpUiPort)
    {
        var scripts = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "eng", "local"));
        CheckPrerequisites(scripts);
        var runDirectory = LocalRunDirectory.Create();
        // A fresh password per run: the data folder is new each run too.
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();

        var postgres = builder.AddLocalServer("postgres", scripts, runDirectory, "postgres.sh",
                r => Expr($"Host={r.Host};Port={r.Port};Username=postgres;Password={password};Database={NotifyInfrastructureExtensions.DatabaseName}"))
            .WithEnvironment("POSTGRES_PASSWORD", password)
            .WithEnvironment("POSTGRES_DB", NotifyInfrastructureExtensions.DatabaseName);
        postgres.WithProtocolHealthCheck(async (cs, ct) =>
        {
            await using var connection = new NpgsqlConnection(cs);
            await connection.OpenAsync(ct);
        });

        var redis = builder.AddLocalServer("redis", scripts, runDirectory, "redis.sh",
                r => Expr($"{r.Host}:{r.Port},password={password}"))
            .WithEnvironment("REDIS_PASSWORD", password);
        redis.WithProtocolHealthCheck(async (cs, _) =>
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync(cs);
            await connection.GetDatabase().PingAsync();
        });

        var rabbitMq = builder.AddLocalServer("rabbitmq", scripts, runDirectory, "rabbitmq.sh",
                r => Expr($"amqp://{RabbitMqUser}:{password}@{r.Host}:{r.Port}/"))
            .WithEnvironment("RABBITMQ_USER", RabbitMqUser)
            .WithEnvironment("RABBITMQ_PASSWORD", password)
            .WithEnvironment("RABBITMQ_DIST_PORT", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        rabbitMq.WithProtocolHealthCheck(async (cs, ct) =>
        {
            await using var connection = await new ConnectionFactory { Uri = new Uri(cs) }.CreateConnectionAsync(ct);
        });

        var uiPort = smtpUiPort ?? FreePort();
        var smtp = builder.AddLocalServer("smtp", scripts, runDirectory, "smtp4dev.sh",
                r => Expr($"smtp://{r.Host}:{r.Port}"), portVariable: "SMTP_PORT")
            .WithEndpoint(port: uiPort, targetPort: uiPort, name: "http", scheme: "http", env: "HTTP_PORT", isProxied: false)
            .WithHttpHealthCheck("/", endpointName: "http");

        return new NotifyInfrastructure(InfrastructureMode.Local, postgres, redis, rabbitMq, smtp, smtp.GetEndpoint("http"));

        static ReferenceExpression Expr(ReferenceExpression.ExpressionInterpolatedStringHandler handler) => ReferenceExpression.Create(handler);
    }

    private static IResourceBuilder<LocalServerResource> AddLocalServer(
        this IDistributedApplicationBuilder builder,
        string name,
        string scripts,
        string runDirectory,
        string script,
        Func<LocalServerResource, ReferenceExpression> connectionString,
        string portVariable = "PORT")
    {
        var port = FreePort();
        var resource = new LocalServerResource(name, scripts, connectionString);
        return builder.AddResource(resource)
            .WithArgs(Path.Combine(scripts, script))
            .WithEnvironment("NOTIFY_DATA_DIR", runDirectory)
            // Not proxied: the server listens on the port itself, so every query avoids an extra hop.
            .WithEndpoint(port: port, targetPort: port, name: LocalServerResource.EndpointName, scheme: "tcp", env: portVariable, isProxied: false)
            .ExcludeFromManifest();
    }

    /// <summary>
    /// Healthy once a real client can connect: a TCP connect alone is accepted before the server is ready.
    /// </summary>
    private static void WithProtocolHealthCheck(this IResourceBuilder<LocalServerResource> server, Func<string, CancellationToken, Task> probe)
    {
        var key = $"{server.Resource.Name}-protocol";
        server.ApplicationBuilder.Services.AddHealthChecks().AddAsyncCheck(key, async ct =>
        {
            try
            {
                var cs = await server.Resource.ConnectionStringExpression.GetValueAsync(ct);
                await probe(cs!, ct);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex)
            {
                return HealthCheckResult.Unhealthy($"{server.Resource.Name} does not answer yet.", ex);
            }
        });
        server.WithHealthCheck(key);
    }

    private static void CheckPrerequisites(string scripts)
    {
        var missing = new List<string>();
        if (!File.Exists("/usr/lib/postgresql/15/bin/postgres"))
        {
            missing.Add("postgres (PostgreSQL 15)");
        }

        if (!ExistsOnPath("redis-server"))
        {
            missing.Add("redis-server");
        }

        if (!Directory.Exists("/usr/lib/rabbitmq/lib") || !Directory.EnumerateDirectories("/usr/lib/rabbitmq/lib", "rabbitmq_server-*").Any())
        {
            missing.Add("rabbitmq-server");
        }

        if (missing.Count > 0)
        {
            throw new DistributedApplicationException(
                $"{string.Join(", ", missing)} not found: run {Path.GetFullPath(Path.Combine(scripts, "..", "install-prerequisites.sh"))} " +
                "(it installs them with apt-get), or set Notify__Infrastructure=Containers on a machine with Docker or Podman.");
        }
    }

    private static bool ExistsOnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, command)));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A server process run from a script, with one TCP endpoint that clients reach through a connection string.</summary>
internal sealed class LocalServerResource(string name, string workingDirectory, Func<LocalServerResource, ReferenceExpression> connectionString)
    : ExecutableResource(name, "bash", workingDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";

    public EndpointReferenceExpression Host => new EndpointReference(this, EndpointName).Property(EndpointProperty.Host);

    public EndpointReferenceExpression Port => new EndpointReference(this, EndpointName).Property(EndpointProperty.Port);

    public ReferenceExpression ConnectionStringExpression => connectionString(this);
}

/// <summary>
/// A data folder for this run only (so no stale lock file or half-written state survives a crash), under
/// the temp folder where the unprivileged postgres user can reach it. Folders of runs that have ended are removed.
/// </summary>
internal static class LocalRunDirectory
{
    private const string OwnerFile = "apphost.pid";

    public static string Create()
    {
        var root = Path.Combine(Path.GetTempPath(), "notify-apphost");
        Directory.CreateDirectory(root);
        RemoveEndedRuns(root);

        var run = Path.Combine(root, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, OwnerFile), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
            File.SetUnixFileMode(run, (UnixFileMode)0b111_101_101);
        }

        return run;
    }

    private static void RemoveEndedRuns(string root)
    {
        foreach (var run in Directory.EnumerateDirectories(root))
        {
            var owner = Path.Combine(run, OwnerFile);
            if (File.Exists(owner) && int.TryParse(File.ReadAllText(owner), out var pid) && IsAlive(pid))
            {
                continue;
            }

            try
            {
                Directory.Delete(run, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Still in use by a server that is shutting down; the next run removes it.
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
