using Notify.Modules.Abstractions.Scheduling;
using Notify.Testing;
using Npgsql;

namespace Notify.Abstractions.Tests.Scheduling;

[Collection(InfrastructureCollection.Name)]
public sealed class QuartzSchemaTests(Infrastructure infrastructure)
{
    [Fact]
    public async Task Ensure_created_run_by_several_callers_at_once_and_again_creates_every_quartz_table()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var connectionString = await infrastructure.CreateDatabaseAsync("quartz_schema");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);

        // Unserialized, concurrent CREATE ... IF NOT EXISTS collide on PostgreSQL's catalog indexes.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => QuartzSchema.EnsureCreatedAsync(dataSource, timeout.Token)));
        await QuartzSchema.EnsureCreatedAsync(dataSource, timeout.Token);

        await using var command = dataSource.CreateCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name");
        command.Parameters.Add(new NpgsqlParameter { Value = QuartzSchema.Schema });
        var tables = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(timeout.Token))
        {
            while (await reader.ReadAsync(timeout.Token))
            {
                tables.Add(reader.GetString(0));
            }
        }

        Assert.Equal(
            [
                "qrtz_blob_triggers", "qrtz_calendars", "qrtz_cron_triggers", "qrtz_execution_history", "qrtz_fired_triggers",
                "qrtz_job_details", "qrtz_job_status", "qrtz_locks", "qrtz_misfire_history", "qrtz_paused_job_grps",
                "qrtz_paused_trigger_grps", "qrtz_scheduler_state", "qrtz_simple_triggers", "qrtz_simprop_triggers", "qrtz_triggers",
            ],
            tables);
    }
}
