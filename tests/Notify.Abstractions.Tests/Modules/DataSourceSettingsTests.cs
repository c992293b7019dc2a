using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Abstractions.Modules;
using Npgsql;

namespace Notify.Abstractions.Tests.Modules;

public sealed class DataSourceSettingsTests
{
    [Fact]
    public void Worker_connections_prepare_their_statements_and_use_generic_plans()
    {
        var settings = WorkerDataSourceSettings("Host=localhost;Username=notify");

        Assert.Equal(100, settings.MaxAutoPrepare);
        Assert.Contains("plan_cache_mode=force_generic_plan", settings.Options);
    }

    [Fact]
    public void Settings_written_in_the_connection_string_win()
    {
        var settings = WorkerDataSourceSettings("Host=localhost;Username=notify;Max Auto Prepare=5;Options=-c plan_cache_mode=auto");

        Assert.Equal(5, settings.MaxAutoPrepare);
        Assert.Equal("-c plan_cache_mode=auto", settings.Options);
    }

    private static NpgsqlConnectionStringBuilder WorkerDataSourceSettings(string connectionString)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"ConnectionStrings:{ModuleHostExtensions.DatabaseConnectionName}"] = connectionString,
            [$"ConnectionStrings:{ModuleHostExtensions.RedisConnectionName}"] = "localhost:6379",
            [$"ConnectionStrings:{ModuleHostExtensions.RabbitMqConnectionName}"] = "amqp://guest:guest@localhost:5672",
        });
        builder.AddNotifyModules(HostRole.Worker);
        using var host = builder.Build();
        return new NpgsqlConnectionStringBuilder(host.Services.GetRequiredService<NpgsqlDataSource>().ConnectionString);
    }
}
