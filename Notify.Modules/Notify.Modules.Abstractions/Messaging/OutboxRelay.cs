using System.Diagnostics;
using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using RabbitMQ.Client;

namespace Notify.Modules.Abstractions.Messaging;

/// <summary>
/// Publishes a module's committed outbox rows to RabbitMQ and deletes them. Rows are claimed with
/// <c>FOR UPDATE SKIP LOCKED</c> inside a transaction that stays open until the broker confirmed the
/// whole batch, so several relays share the work and a crash before the commit only leads to the batch
/// being published again (consumers' inboxes drop the repeat, event by event). Rows of one type travel together, up to
/// <see cref="EventsPerMessage"/> in one message. Wakes on LISTEN/NOTIFY, polls as a fallback.
/// </summary>
/// <remarks>
/// Under load a batch is claimed and published while earlier ones still wait for their confirms (up to
/// <see cref="BatchesInFlight"/>): waiting for the broker's confirms and PostgreSQL's commit, not the work itself, was
/// what bounded the relay. The batches go out one after another on one channel, so the broker still gets them in id
/// order; only a batch that fails and is published again later arrives out of order.
/// </remarks>
public sealed class OutboxRelay<TContext>(
    IServiceScopeFactory scopes,
    NpgsqlDataSource dataSource,
    RabbitMqConnection rabbit,
    RabbitMqTopology topology,
    ILogger<OutboxRelay<TContext>> logger) : BackgroundService
    where TContext : DbContext
{
    internal const int BatchSize = 200;

    /// <summary>
    /// Events of one type a broker message carries at most. Every message costs the broker the same (a quorum queue
    /// writes it, its delivery and its ack to its Raft log) whatever it holds, and each notification makes three events.
    /// </summary>
    internal const int EventsPerMessage = 50;

    /// <summary>Published batches waiting for their confirms and commit at once.</summary>
    internal const int BatchesInFlight = 4;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the relay lets rows gather after a commit woke it. Without it a steady stream of small commits (single
    /// sends) goes out as a message, a confirm and a consumer transaction per commit, and each of those costs the same
    /// whatever it carries.
    /// </summary>
    internal static readonly TimeSpan GatherDelay = TimeSpan.FromMilliseconds(20);

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private string? _schema;
    private IChannel? _channel;

    internal string Schema => _schema ??= ReadSchema();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        NpgsqlConnection? listener = null;
        var backoff = TimeSpan.Zero;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    listener ??= await ListenAsync(stoppingToken);
                    await RelayAllAsync(stoppingToken);

                    backoff = TimeSpan.Zero;
                    if (await listener.WaitAsync(PollInterval, stoppingToken))
                    {
                        // Woken by a commit: the commits right behind it join the same batch.
                        await Task.Delay(GatherDelay, stoppingToken);
                    }
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex)
                {
                    backoff = TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, (backoff.TotalMilliseconds * 2) + 250));
                    logger.LogWarning(ex, "Outbox relay for {Schema} failed; retrying in {Backoff}", Schema, backoff);
                    if (listener is not null)
                    {
                        await CloseListenerAsync(listener);
                        listener = null;
                    }

                    await Task.Delay(backoff, stoppingToken);
                }
            }
        }
        finally
        {
            if (listener is not null)
            {
                await CloseListenerAsync(listener);
            }
        }
    }

    /// <summary>
    /// Publishes batches of unsent rows until less than a full batch is left, each right after the one before while up to
    /// <see cref="BatchesInFlight"/> wait for their confirms and commit; fails (after the others settled) if any did.
    /// </summary>
    private async Task RelayAllAsync(CancellationToken cancellationToken)
    {
        var inFlight = new List<Task>(BatchesInFlight);
        Guid? after = null;
        try
        {
            while (await ClaimAndPublishAsync(after, cancellationToken) is { } batch)
            {
                inFlight.Add(batch.CompleteAsync(this, cancellationToken));
                if (batch.Rows.Count < BatchSize)
                {
                    break;
                }

                // The next batch starts after this one: its rows stay locked until their confirms come, and skipping them
                // one by one cost more than the claim itself. A row that commits below it later goes out in the next round.
                after = batch.Rows[^1].Id;

                if (inFlight.Count == BatchesInFlight)
                {
                    var done = await Task.WhenAny(inFlight);
                    inFlight.Remove(done);
                    await done;
                }
            }
        }
        finally
        {
            // Every batch settles (committed, or rolled back and published again later) before the loop goes on or retries.
            await Task.WhenAll(inFlight);
        }
    }

    /// <summary>Publishes one batch of unsent rows and deletes them; returns how many.</summary>
    internal async Task<int> RelayOnceAsync(CancellationToken cancellationToken)
    {
        if (await ClaimAndPublishAsync(after: null, cancellationToken) is not { } batch)
        {
            return 0;
        }

        await batch.CompleteAsync(this, cancellationToken);
        return batch.Rows.Count;
    }

    /// <summary>
    /// Claims a batch of unsent rows (with ids above <paramref name="after"/>, if given) in a transaction that stays open
    /// and publishes them; null when there were none. The caller completes the batch (confirms, delete, commit), and must,
    /// as it holds a connection.
    /// </summary>
    private async Task<PublishedBatch?> ClaimAndPublishAsync(Guid? after, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        NpgsqlTransaction? transaction = null;
        try
        {
            transaction = await connection.BeginTransactionAsync(cancellationToken);
            var rows = await LoadUnsentAsync(connection, transaction, after, cancellationToken);
            if (rows.Count > 0)
            {
                return new PublishedBatch(connection, transaction, rows, PublishAsync(rows, cancellationToken));
            }
        }
        catch
        {
            await DisposeAsync(connection, transaction);
            throw;
        }

        await DisposeAsync(connection, transaction);
        return null;
    }

    private static async Task DisposeAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction)
    {
        if (transaction is not null)
        {
            await transaction.DisposeAsync();
        }

        await connection.DisposeAsync();
    }

    /// <summary>A claimed batch whose rows went out: <see cref="Confirmed"/> completes with the broker's confirms of all of them.</summary>
    private sealed record PublishedBatch(NpgsqlConnection Connection, NpgsqlTransaction Transaction, IReadOnlyList<OutboxMessage> Rows, Task Confirmed)
    {
        /// <summary>Waits for the confirms, deletes the rows and commits; rolls back (the rows go out again later) on failure.</summary>
        public async Task CompleteAsync(OutboxRelay<TContext> relay, CancellationToken cancellationToken)
        {
            try
            {
                await Confirmed;
                await relay.DeletePublishedAsync(Connection, Transaction, Rows, cancellationToken);
                await Transaction.CommitAsync(cancellationToken);
                MessagingTelemetry.Published.Add(Rows.Count, new KeyValuePair<string, object?>("schema", relay.Schema));
            }
            finally
            {
                await DisposeAsync(Connection, Transaction);
            }
        }
    }

    internal async Task<IReadOnlyList<OutboxMessage>> LoadUnsentAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid? after, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            Data.QueueScans.IndexOrder + $"""
            SELECT id, type, tenant_id, occurred_at, payload::text, trace_parent, trace_state
            FROM "{Schema}".{OutboxExtensions.OutboxTable}
            {(after is null ? "" : "WHERE id > @after")}
            ORDER BY id
            LIMIT {BatchSize}
            FOR UPDATE SKIP LOCKED
            """, connection, transaction);
        if (after is { } id)
        {
            command.Parameters.AddWithValue("after", id);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<OutboxMessage>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new OutboxMessage
            {
                Id = reader.GetGuid(0),
                Type = reader.GetString(1),
                TenantId = reader.IsDBNull(2) ? null : reader.GetGuid(2),
                OccurredAt = reader.GetFieldValue<DateTimeOffset>(3),
                Payload = reader.GetString(4),
                TraceParent = reader.IsDBNull(5) ? null : reader.GetString(5),
                TraceState = reader.IsDBNull(6) ? null : reader.GetString(6),
            });
        }

        return rows;
    }

    /// <summary>
    /// Publishes every row — the rows of one type together, up to <see cref="EventsPerMessage"/> in a message, in id
    /// order — and waits for the broker's confirms of the whole batch.
    /// </summary>
    internal async Task PublishAsync(IReadOnlyList<OutboxMessage> rows, CancellationToken cancellationToken)
    {
        var channel = await GetChannelAsync(cancellationToken);
        try
        {
            var confirms = new List<Task>();
            foreach (var message in rows.GroupBy(r => r.Type).SelectMany(type => type.Chunk(EventsPerMessage)))
            {
                var first = message[0];
                var properties = new BasicProperties
                {
                    MessageId = first.Id.ToString(),
                    Type = first.Type,
                    ContentType = "application/json",
                    DeliveryMode = DeliveryModes.Persistent,
                    Timestamp = new AmqpTimestamp(first.OccurredAt.ToUnixTimeSeconds()),
                };
                confirms.Add(channel.BasicPublishAsync(RabbitMqTopology.EventsExchange, first.Type, mandatory: false, properties, Serialize(message), cancellationToken).AsTask());
            }

            await Task.WhenAll(confirms);
        }
        catch
        {
            await DropChannelAsync();
            throw;
        }
    }

    /// <summary>
    /// Published rows are deleted rather than marked: a delete writes no new row version and no index entry, and the
    /// table stays as small as what is waiting (the timeline and the consumers keep what happened).
    /// </summary>
    internal async Task DeletePublishedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<OutboxMessage> rows, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"""DELETE FROM "{Schema}".{OutboxExtensions.OutboxTable} WHERE id = ANY($1)""", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Id).ToArray() });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await DropChannelAsync();
    }

    /// <summary>
    /// A message's body: the array of its events' envelopes. Each event carries its own trace context — that of its publish
    /// span, a child of the request or handler that wrote it — so one trace still follows each notification.
    /// </summary>
    private static byte[] Serialize(OutboxMessage[] rows)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var row in rows)
            {
                using var activity = MessagingTelemetry.Source.StartActivity(
                    $"{row.Type} publish", ActivityKind.Producer, MessagingTelemetry.ParentFrom(row.TraceParent, row.TraceState));
                activity?.SetTag("messaging.system", "rabbitmq");
                activity?.SetTag("messaging.message.id", row.Id.ToString());

                writer.WriteStartObject();
                writer.WriteString("id", row.Id);
                writer.WriteString("type", row.Type);
                if (row.TenantId is { } tenantId)
                {
                    writer.WriteString("tenantId", tenantId);
                }

                writer.WriteString("occurredAt", row.OccurredAt);
                writer.WriteString("traceParent", activity?.Id ?? row.TraceParent);
                writer.WriteString("traceState", activity?.TraceStateString ?? row.TraceState);
                writer.WritePropertyName("data");
                writer.WriteRawValue(row.Payload, skipInputValidation: true);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return buffer.ToArray();
    }

    private async Task<NpgsqlConnection> ListenAsync(CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"LISTEN {OutboxExtensions.OutboxChannel(Schema)}", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    /// <summary>
    /// Stops listening before the connection goes back to the pool, which does not reset sessions: a pooled connection
    /// still listening would be sent every notification while nobody reads it.
    /// </summary>
    private static async Task CloseListenerAsync(NpgsqlConnection listener)
    {
        try
        {
            await using var unlisten = new NpgsqlCommand("UNLISTEN *", listener);
            await unlisten.ExecuteNonQueryAsync();
        }
        catch (Exception)
        {
            // Broken: a broken connection does not go back to the pool.
        }

        await listener.DisposeAsync();
    }

    private async Task<IChannel> GetChannelAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true } open)
        {
            return open;
        }

        await DropChannelAsync();
        var connection = await rabbit.GetAsync(cancellationToken);
        // The client's default limiter of outstanding confirms (128) sleeps 0.5 to 1 s before a publish once more than 64
        // are unconfirmed, and a batch publishes up to 200 at once; the batches in flight bound the relay already.
        const int outstanding = BatchSize * BatchesInFlight;
        var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true,
                outstandingPublisherConfirmationsRateLimiter: new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = outstanding, QueueLimit = outstanding })),
            cancellationToken);
        await topology.DeclareAsync(channel, cancellationToken);
        _channel = channel;
        return channel;
    }

    private async Task DropChannelAsync()
    {
        var channel = Interlocked.Exchange(ref _channel, null);
        if (channel is null)
        {
            return;
        }

        await RabbitMqChannels.CloseQuietlyAsync(channel);
    }

    private string ReadSchema()
    {
        using var scope = scopes.CreateScope();
        return scope.ServiceProvider.GetRequiredService<TContext>().Model.GetDefaultSchema()
            ?? throw new InvalidOperationException($"{typeof(TContext).Name} must set a default schema.");
    }
}
