using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Abstractions.Tenancy;

namespace Notify.Modules.Abstractions.Modules;

public static class ModuleHostExtensions
{
    /// <summary>Connection string names the AppHost provides to every host.</summary>
    public const string DatabaseConnectionName = "notify";
    public const string RedisConnectionName = "redis";
    public const string RabbitMqConnectionName = "rabbitmq";

    /// <summary>Registers the shared kernel and then each module's side for <paramref name="role"/>.</summary>
    public static IHostApplicationBuilder AddNotifyModules(this IHostApplicationBuilder builder, HostRole role, params IModule[] modules)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddScoped<TenantContext>();
        builder.Services.AddScoped<ITenantContext>(sp => sp.GetRequiredService<TenantContext>());
        // Trace database commands that are part of a request, message or job; background polling (outbox
        // relays, LISTEN keep-alives) runs outside any activity and would bury real traces in one-span noise.
        // Without an exporter nobody reads the spans, so they are not made (they cost a share of every request).
        var tracing = TelemetryExport.IsConfigured(builder.Configuration);
        builder.AddNpgsqlDataSource(DatabaseConnectionName,
            configureSettings: settings => settings.DisableTracing = !tracing,
            configureDataSourceBuilder: dataSource =>
            {
                dataSource.ConfigureTracing(tracing => tracing
                    .ConfigureCommandFilter(_ => Activity.Current is not null)
                    .ConfigureBatchFilter(_ => Activity.Current is not null));
                // The same few statements run thousands of times a second (accepts, claims, inbox inserts): prepared once per
                // connection, PostgreSQL stops parsing them each time.
                var settings = dataSource.ConnectionStringBuilder;
                if (settings.MaxAutoPrepare == 0)
                {
                    settings.MaxAutoPrepare = 100;
                }

                // Nothing here leaves session state behind (only SET LOCAL, transaction-scoped locks, and LISTEN on a connection
                // of its own), so a pooled connection goes back without the reset Npgsql otherwise runs before its next use:
                // five statements parsed and run each time, several hundred times a second under load.
                settings.NoResetOnClose = true;

                // The Worker's also planned once: by default PostgreSQL plans a prepared statement over partitioned tables on
                // every run, as a plan that prunes the partitions while planning always looks cheaper than the generic plan,
                // and the senders' claims, hand-overs and outcomes re-planned so were ~15% of its CPU under load. The generic
                // plan prunes them when it runs, from the parameters. The API keeps the default: its accepts mostly copy rows,
                // and its reads take filters whose best plan depends on the values.
                if (role is HostRole.Worker && settings.Options?.Contains("plan_cache_mode", StringComparison.Ordinal) != true)
                {
                    settings.Options = $"{settings.Options} -c plan_cache_mode=force_generic_plan".Trim();
                }
            });

        if (role is HostRole.Api or HostRole.Worker)
        {
            builder.AddRedisClient(RedisConnectionName, settings => settings.DisableTracing = !tracing);
            builder.Services.AddRabbitMqMessaging(builder.Configuration);
        }

        if (role is HostRole.Api)
        {
            builder.Services.AddSingleton<RequestBudget>();
        }

        builder.Services.AddSingleton<IReadOnlyList<IModule>>(modules);
        foreach (var module in modules)
        {
            module.Register(builder, role);
        }

        return builder;
    }
}

/// <summary>Whether telemetry goes anywhere: the OTLP endpoint the AppHost (or an operator) sets.</summary>
public static class TelemetryExport
{
    public static bool IsConfigured(Microsoft.Extensions.Configuration.IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
}
