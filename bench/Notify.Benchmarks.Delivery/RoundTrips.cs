using Notify.Testing;
using Npgsql;
using StackExchange.Redis;

namespace Notify.Benchmarks.Delivery;

/// <summary>
/// Server-side counters read before and after a phase, so a figure comes with its cost: PostgreSQL transactions
/// (every statement outside a transaction is one) and rows written, and Redis commands. They include the hosts'
/// background loops (outbox polling, schedulers), so they are an upper bound.
/// </summary>
internal sealed record RoundTrips(long Transactions, long RowsWritten, long RedisCommands)
{
    public static async Task<RoundTrips> ReadAsync(Infrastructure infrastructure)
    {
        // Backends flush their statistics about once a second.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await using var connection = new NpgsqlConnection(infrastructure.PostgresAdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT sum(xact_commit + xact_rollback)::bigint, sum(tup_inserted + tup_updated + tup_deleted)::bigint FROM pg_stat_database", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        var (transactions, rows) = (reader.GetInt64(0), reader.GetInt64(1));

        await using var redis = await ConnectionMultiplexer.ConnectAsync(infrastructure.RedisConnectionString + ",allowAdmin=true");
        var stats = (await redis.GetServers()[0].InfoAsync("stats")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        return new RoundTrips(transactions, rows, long.Parse(stats["total_commands_processed"], System.Globalization.CultureInfo.InvariantCulture));
    }

    public string Since(RoundTrips before, long items) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{(double)(Transactions - before.Transactions) / items:N1} PostgreSQL transactions, {(double)(RowsWritten - before.RowsWritten) / items:N1} rows written, "
        + $"{(double)(RedisCommands - before.RedisCommands) / items:N1} Redis commands");
}
