using Npgsql;

namespace Notify.Modules.Abstractions.Scheduling;

/// <summary>Creates the Quartz.NET job store tables (schema <c>quartz</c>) that <see cref="SchedulingExtensions"/> points Quartz at.</summary>
public static class QuartzSchema
{
    /// <summary>The PostgreSQL schema holding Quartz's tables.</summary>
    public const string Schema = "quartz";

    /// <summary>The job store's table prefix: schema-qualified, because Quartz pastes it in front of every table name.</summary>
    public const string TablePrefix = Schema + ".qrtz_";

    // Any fixed number works as long as nothing else in the database takes the same advisory lock.
    private const long AdvisoryLockKey = 0x4E6F_7469_6679_5155; // "NotifyQU"

    private static readonly Lazy<string> Script = new(ReadScript);

    /// <summary>
    /// Runs the embedded, idempotent <c>quartz-tables.sql</c>. Safe to call from several processes at once:
    /// the transaction-scoped advisory lock makes them take turns, because concurrent
    /// <c>CREATE ... IF NOT EXISTS</c> can still fail on PostgreSQL's catalog unique indexes.
    /// </summary>
    public static async Task EnsureCreatedAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(dataSource);

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        await using (var @lock = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
        {
            @lock.Parameters.Add(new NpgsqlParameter { Value = AdvisoryLockKey });
            await @lock.ExecuteNonQueryAsync(ct);
        }

        await using (var create = new NpgsqlCommand(Script.Value, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
    }

    private static string ReadScript()
    {
        var assembly = typeof(QuartzSchema).Assembly;
        var name = assembly.GetManifestResourceNames().SingleOrDefault(n => n.EndsWith(".quartz-tables.sql", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{assembly.GetName().Name} does not embed quartz-tables.sql.");
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
