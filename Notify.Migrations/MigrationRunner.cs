using System.Diagnostics;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Abstractions.Scheduling;
using Npgsql;

namespace Notify.Migrations;

internal sealed class MigrationRunner(
    IServiceProvider services,
    IReadOnlyList<IModule> modules,
    IHostApplicationLifetime lifetime,
    ILogger<MigrationRunner> logger) : BackgroundService
{
    private static readonly ActivitySource Source = new("Notify.Migrations");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var activity = Source.StartActivity("Migrate database");
        try
        {
            foreach (var module in modules)
            {
                logger.LogInformation("Migrating module {Module}", module.Name);
                await module.MigrateAsync(services, stoppingToken);
            }

            logger.LogInformation("Creating the Quartz job store in schema {Schema}", QuartzSchema.Schema);
            await QuartzSchema.EnsureCreatedAsync(services.GetRequiredService<NpgsqlDataSource>(), stoppingToken);
            logger.LogInformation("All {Count} modules migrated", modules.Count);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            logger.LogCritical(ex, "Migration failed");
            Environment.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }
}
