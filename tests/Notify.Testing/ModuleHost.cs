using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Abstractions.Security;

namespace Notify.Testing;

public static class ModuleHost
{
    /// <summary>The signing key every module host of this test run shares, as replicas of one deployment do.</summary>
    public static readonly string SigningKey = SignedTokens.GenerateKey();

    /// <summary>What every host of a test run is configured with: this run's servers, and the shared signing key.</summary>
    public static Dictionary<string, string?> HostSettings(this Infrastructure infrastructure, string database) => new()
    {
        [$"ConnectionStrings:{ModuleHostExtensions.DatabaseConnectionName}"] = database,
        [$"ConnectionStrings:{ModuleHostExtensions.RedisConnectionName}"] = infrastructure.RedisConnectionString,
        [$"ConnectionStrings:{ModuleHostExtensions.RabbitMqConnectionName}"] = infrastructure.RabbitMqConnectionString,
        [SignedTokens.ConfigurationKey] = SigningKey,
    };

    /// <summary>
    /// Starts a host that loads <paramref name="modules"/> for <paramref name="role"/> the way the real hosts do
    /// (a module that calls another's contract needs that module loaded too), against <paramref name="database"/>
    /// and this run's Redis and RabbitMQ, after applying the modules' migrations in order.
    /// </summary>
    public static async Task<IHost> StartModuleHostAsync(this Infrastructure infrastructure, string database, HostRole role, params IModule[] modules)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(infrastructure.HostSettings(database));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddNotifyModules(role, modules);
        var host = builder.Build();
        foreach (var module in modules)
        {
            await module.MigrateAsync(host.Services, CancellationToken.None);
        }

        await host.StartAsync();
        return host;
    }
}

public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test when <paramref name="timeout"/> runs out.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!await condition())
        {
            await Task.Delay(20, cts.Token);
        }
    }
}
