using System.Text.Json;
using Notify.Modules.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace Notify.Modules.Webhooks.Dispatch;

/// <summary>
/// The SQL of the dispatch loop, written by hand because it runs thousands of times a second: claim due
/// deliveries, and record a batch of attempt outcomes in one round trip.
/// </summary>
internal sealed class DeliveryStore(NpgsqlDataSource dataSource, TimeProvider clock)
{
    private const string Schema = Data.WebhooksDbContext.Schema;

    /// <summary>
    /// Claims up to <paramref name="limit"/> due deliveries of enabled endpoints, at most <paramref name="perEndpoint"/>
    /// per endpoint and none of <paramref name="busyEndpoints"/>. A claim counts the attempt and pushes
    /// <c>next_attempt_at</c> to the end of a lease: other Workers skip the rows (SKIP LOCKED while claiming,
    /// the lease afterwards), and if this Worker dies the delivery is due again when the lease ends.
    /// </summary>
    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(int limit, int perEndpoint, Guid[] busyEndpoints, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand($"""
            WITH picked AS (
              SELECT x.id FROM "{Schema}".endpoints e
              CROSS JOIN LATERAL (
                SELECT d.id, d.next_attempt_at FROM "{Schema}".deliveries d
                WHERE d.endpoint_id = e.id AND d.status = 'Pending' AND d.next_attempt_at <= $1
                ORDER BY d.next_attempt_at
                LIMIT $2
                FOR UPDATE SKIP LOCKED) x
              WHERE e.enabled AND NOT (e.id = ANY($3))
              ORDER BY x.next_attempt_at
              LIMIT $4
            )
            UPDATE "{Schema}".deliveries d
            SET next_attempt_at = $5, attempt_count = d.attempt_count + 1, updated_at = $1
            FROM picked, "{Schema}".events ev, "{Schema}".endpoints e
            WHERE d.id = picked.id AND ev.id = d.event_id AND e.id = d.endpoint_id
            RETURNING d.id, d.tenant_id, d.endpoint_id, d.event_id, d.attempt_count, ev.type, ev.payload,
                      e.url, e.headers::text, e.secret, e.previous_secret, e.previous_secret_expires_at
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = now });
        command.Parameters.Add(new NpgsqlParameter { Value = perEndpoint });
        command.Parameters.Add(new NpgsqlParameter { Value = busyEndpoints, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        command.Parameters.Add(new NpgsqlParameter { Value = now + lease });

        var claimed = new List<ClaimedDelivery>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            claimed.Add(new ClaimedDelivery(
                reader.GetGuid(0),
                reader.GetGuid(1),
                reader.GetGuid(2),
                reader.GetGuid(3),
                reader.GetInt32(4),
                reader.GetString(5),
                reader.GetString(6),
                reader.GetString(7),
                JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(8)) ?? [],
                reader.GetString(9),
                reader.IsDBNull(10) ? null : reader.GetString(10),
                reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11)));
        }

        return claimed;
    }

    /// <summary>
    /// Writes the attempts, moves each delivery on (succeeded, failed, or pending until its next retry) and
    /// updates each endpoint's run of failures, in one transaction. Returns the endpoints' new failure runs.
    /// </summary>
    public async Task<IReadOnlyList<(Guid EndpointId, int ConsecutiveFailures, bool Enabled)>> RecordAsync(
        IReadOnlyList<(AttemptOutcome Outcome, string Status, DateTimeOffset? NextAttemptAt)> results, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction);

        var attempts = new NpgsqlBatchCommand($"""
            INSERT INTO "{Schema}".attempts (id, tenant_id, endpoint_id, delivery_id, event_id, event_type, attempt_number, succeeded,
                                             status_code, duration_ms, response_body, error, created_at)
            SELECT u.* FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::int[], $8::boolean[],
                                   $9::int[], $10::int[], $11::text[], $12::text[], $13::timestamptz[])
                 AS u(id, tenant_id, endpoint_id, delivery_id, event_id, event_type, attempt_number, succeeded,
                      status_code, duration_ms, response_body, error, created_at)
            -- An endpoint deleted while its attempt was under way takes its log with it; the rest of the batch still counts.
            WHERE EXISTS (SELECT 1 FROM "{Schema}".endpoints e WHERE e.id = u.endpoint_id)
            """);
        Add(attempts, results.Select(_ => Ids.New(clock)).ToArray());
        Add(attempts, results.Select(r => r.Outcome.Delivery.TenantId).ToArray());
        Add(attempts, results.Select(r => r.Outcome.Delivery.EndpointId).ToArray());
        Add(attempts, results.Select(r => r.Outcome.Delivery.Id).ToArray());
        Add(attempts, results.Select(r => r.Outcome.Delivery.EventId).ToArray());
        Add(attempts, results.Select(r => r.Outcome.Delivery.EventType).ToArray());
        Add(attempts, results.Select(r => r.Outcome.Delivery.AttemptNumber).ToArray());
        Add(attempts, results.Select(r => r.Outcome.Succeeded).ToArray());
        Add(attempts, results.Select(r => r.Outcome.StatusCode).ToArray());
        Add(attempts, results.Select(r => r.Outcome.DurationMs).ToArray());
        Add(attempts, results.Select(r => r.Outcome.ResponseBody).ToArray());
        Add(attempts, results.Select(r => r.Outcome.Error).ToArray());
        Add(attempts, results.Select(r => r.Outcome.StartedAt).ToArray());
        batch.BatchCommands.Add(attempts);

        var deliveries = new NpgsqlBatchCommand($"""
            UPDATE "{Schema}".deliveries d SET status = u.status, next_attempt_at = u.next, updated_at = $4
            FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS u(id, status, next)
            WHERE d.id = u.id
            """);
        Add(deliveries, results.Select(r => r.Outcome.Delivery.Id).ToArray());
        Add(deliveries, results.Select(r => r.Status).ToArray());
        Add(deliveries, results.Select(r => r.NextAttemptAt).ToArray());
        deliveries.Parameters.Add(new NpgsqlParameter { Value = now });
        batch.BatchCommands.Add(deliveries);

        // Per endpoint, in the order the attempts finished: a success ends the run of failures.
        var runs = new Dictionary<Guid, (bool Reset, int Failures)>();
        foreach (var (outcome, _, _) in results)
        {
            var run = runs.GetValueOrDefault(outcome.Delivery.EndpointId);
            runs[outcome.Delivery.EndpointId] = outcome.Succeeded ? (true, 0) : (run.Reset, run.Failures + 1);
        }

        var endpoints = new NpgsqlBatchCommand($"""
            UPDATE "{Schema}".endpoints e
            SET consecutive_failures = CASE WHEN u.reset THEN u.failures ELSE e.consecutive_failures + u.failures END
            FROM unnest($1::uuid[], $2::boolean[], $3::int[]) AS u(id, reset, failures)
            WHERE e.id = u.id AND (u.failures > 0 OR e.consecutive_failures > 0)
            RETURNING e.id, e.consecutive_failures, e.enabled
            """);
        Add(endpoints, runs.Keys.ToArray());
        Add(endpoints, runs.Values.Select(r => r.Reset).ToArray());
        Add(endpoints, runs.Values.Select(r => r.Failures).ToArray());
        batch.BatchCommands.Add(endpoints);

        var changed = new List<(Guid, int, bool)>();
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            // The INSERT and the first UPDATE return no rows; the reader lands on the endpoints' RETURNING.
            do
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    changed.Add((reader.GetGuid(0), reader.GetInt32(1), reader.GetBoolean(2)));
                }
            }
            while (await reader.NextResultAsync(cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return changed;
    }

    private static void Add<T>(NpgsqlBatchCommand command, T value) => command.Parameters.Add(new NpgsqlParameter<T> { TypedValue = value });
}
