using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Notify.Modules.Abstractions.Data;

public static class ModuleDbContextExtensions
{
    /// <summary>The EF migrations history table; one per module schema, so modules migrate independently.</summary>
    public const string MigrationsHistoryTable = "__ef_migrations_history";

    /// <summary>
    /// Registers a module's DbContext over the shared <see cref="NpgsqlDataSource"/> (which carries the
    /// Aspire health check and telemetry), with snake_case names and its own migrations history.
    /// </summary>
    public static IHostApplicationBuilder AddModuleDbContext<TContext>(this IHostApplicationBuilder builder, string schema)
        where TContext : DbContext
    {
        builder.Services.AddDbContext<TContext>((sp, options) => options.UseModuleDefaults(sp.GetRequiredService<NpgsqlDataSource>(), schema));
        return builder;
    }

    public static DbContextOptionsBuilder UseModuleDefaults(this DbContextOptionsBuilder options, NpgsqlDataSource dataSource, string schema) =>
        options
            .UseNpgsql(dataSource, npgsql => npgsql.MigrationsHistoryTable(MigrationsHistoryTable, schema))
            .UseSnakeCaseNamingConvention();
}

/// <summary>
/// Base for a module's design-time factory, so <c>dotnet ef migrations add</c> builds the model (with the
/// module's schema and history table) without a running database or host.
/// </summary>
public abstract class ModuleDesignTimeFactory<TContext>(string schema, Func<DbContextOptions<TContext>, TContext> create)
    : Microsoft.EntityFrameworkCore.Design.IDesignTimeDbContextFactory<TContext>
    where TContext : DbContext
{
    public TContext CreateDbContext(string[] args)
    {
        // Only the model is built; no connection is opened.
        var options = new DbContextOptionsBuilder<TContext>();
        options.UseModuleDefaults(NpgsqlDataSource.Create("Host=localhost;Database=notify"), schema);
        return create(options.Options);
    }
}
