using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Abstractions.Modules;
using Notify.Testing;
using Npgsql;

namespace Notify.Abstractions.Tests.Messaging;

[Collection(InfrastructureCollection.Name)]
public sealed class OutboxTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _queue = $"test.outbox.{Guid.NewGuid():N}";
    private IHost _host = null!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }
    }

    [Fact]
    public async Task Event_written_in_a_rolled_back_transaction_is_never_published()
    {
        await StartAsync(runRelay: true);
        var rolledBack = Guid.NewGuid();
        var committed = Guid.NewGuid();

        await using (var scope = _host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OutboxTestDbContext>();
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.AddIntegrationEvent(new OutboxTestEvent(rolledBack), null, TimeProvider.System);
            await db.SaveChangesAsync();
            await transaction.RollbackAsync();
        }

        await PublishAsync(committed);

        // Events are relayed in commit order, so once the later one was handled the earlier one had its chance.
        await WaitUntilAsync(async () => (await HandledAsync(committed)) == 1);
        Assert.Equal(0, await HandledAsync(rolledBack));
        Assert.Equal(0, await ScalarAsync<long>($"SELECT count(*) FROM {OutboxTestDbContext.Schema}.outbox_messages WHERE payload->>'marker' = '{rolledBack}'"));
    }

    [Fact]
    public async Task Handled_events_are_acknowledged_to_the_broker_so_none_comes_back_once_the_consumer_stops()
    {
        await StartAsync(runRelay: true);
        var markers = Enumerable.Range(0, 300).Select(_ => Guid.NewGuid()).ToList();
        foreach (var chunk in markers.Chunk(50))
        {
            await using var scope = _host.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<OutboxTestDbContext>();
            foreach (var marker in chunk)
            {
                db.AddIntegrationEvent(new OutboxTestEvent(marker), null, TimeProvider.System);
            }

            await db.SaveChangesAsync();
        }

        await WaitUntilAsync(async () => await ScalarAsync<long>($"SELECT count(*) FROM {OutboxTestDbContext.Schema}.handled_events") == markers.Count);
        await _host.StopAsync();

        // Had an ack not reached the broker, closing the consumer's channel would have put its message back in the queue.
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(infrastructure.RabbitMqConnectionString) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        Assert.Equal(0u, (await channel.QueueDeclarePassiveAsync(_queue)).MessageCount);
    }

    [Fact]
    public async Task An_event_that_fails_in_a_message_of_several_gets_the_message_requeued_and_every_event_is_handled_once()
    {
        await StartAsync(runRelay: true);
        var markers = Enumerable.Range(0, 10).Select(_ => Guid.NewGuid()).ToList();
        RecordingHandler.FailOnce[markers[4]] = true;
        await using (var scope = _host.Services.CreateAsyncScope())
        {
            // One transaction, one type: the relay publishes the ten events as one message.
            var db = scope.ServiceProvider.GetRequiredService<OutboxTestDbContext>();
            foreach (var marker in markers)
            {
                db.AddIntegrationEvent(new OutboxTestEvent(marker), null, TimeProvider.System);
            }

            await db.SaveChangesAsync();
        }

        await WaitUntilAsync(async () => await ScalarAsync<long>($"SELECT count(*) FROM {OutboxTestDbContext.Schema}.handled_events") == markers.Count);
        Assert.False(RecordingHandler.FailOnce.ContainsKey(markers[4])); // it did fail once, and was handled on the redelivery
        await Task.Delay(TimeSpan.FromSeconds(1)); // a duplicate, had there been one, would be in by now
        foreach (var marker in markers)
        {
            Assert.Equal(1, await HandledAsync(marker));
        }
    }

    [Fact]
    public async Task Event_written_while_rabbitmq_is_down_is_published_once_it_is_back()
    {
        await StartAsync(runRelay: true);
        await PublishAsync(Guid.NewGuid()); // the consumer and relay are connected before the outage
        await WaitUntilAsync(async () => await ScalarAsync<long>($"SELECT count(*) FROM {OutboxTestDbContext.Schema}.handled_events") == 1);

        await infrastructure.RabbitMq.StopAsync();
        var duringOutage = Guid.NewGuid();
        try
        {
            await PublishAsync(duringOutage); // the API side never needs the broker: this commits
            Assert.Equal(1, await ScalarAsync<long>(
                $"SELECT count(*) FROM {OutboxTestDbContext.Schema}.outbox_messages WHERE payload->>'marker' = '{duringOutage}'"));
        }
        finally
        {
            await infrastructure.StartRabbitMqAgainAsync();
        }

        await WaitUntilAsync(async () => (await HandledAsync(duringOutage)) == 1);
        // The consumer can handle the message before the relay's confirm arrives and it deletes the row.
        await WaitUntilAsync(async () => await ScalarAsync<long>($"SELECT count(*) FROM {OutboxTestDbContext.Schema}.outbox_messages") == 0);
    }

    [Fact]
    public async Task Relay_crash_between_publish_and_delete_leads_to_a_redelivery_the_inbox_drops()
    {
        var duplicatesDropped = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "notify.inbox.duplicates")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "queue" && (string?)tag.Value == _queue)
                {
                    Interlocked.Add(ref duplicatesDropped, (int)value);
                }
            }
        });
        listener.Start();

        await StartAsync(runRelay: false);
        var marker = Guid.NewGuid();
        await PublishAsync(marker);
        var relay = _host.Services.GetRequiredService<OutboxRelay<OutboxTestDbContext>>();

        // First relay pass: claims and publishes the row, then "crashes" before deleting it.
        var dataSource = _host.Services.GetRequiredService<NpgsqlDataSource>();
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            var rows = await relay.LoadUnsentAsync(connection, transaction, after: null, CancellationToken.None);
            Assert.Single(rows);
            await relay.PublishAsync(rows, CancellationToken.None);
        }

        await WaitUntilAsync(async () => (await HandledAsync(marker)) == 1);

        // The next pass finds the row still there, publishes it again and deletes it.
        Assert.Equal(1, await relay.RelayOnceAsync(CancellationToken.None));
        Assert.Equal(0, await ScalarAsync<long>($"SELECT count(*) FROM {OutboxTestDbContext.Schema}.outbox_messages"));
        await WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref duplicatesDropped) == 1));

        Assert.Equal(1, await HandledAsync(marker));
        Assert.Equal(1, await ScalarAsync<long>($"SELECT count(*) FROM {OutboxTestDbContext.Schema}.inbox_messages WHERE consumer = '{_queue}'"));
        Assert.Equal(0, await relay.RelayOnceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_claim_after_an_id_leaves_the_rows_up_to_it_for_the_next_round()
    {
        await StartAsync(runRelay: false);
        var relay = _host.Services.GetRequiredService<OutboxRelay<OutboxTestDbContext>>();
        foreach (var marker in new[] { Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid() })
        {
            await PublishAsync(marker);
        }

        var ids = new List<Guid>();
        await using (var command = _host.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand(
            $"SELECT id FROM {OutboxTestDbContext.Schema}.outbox_messages ORDER BY id"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                ids.Add(reader.GetGuid(0));
            }
        }

        Assert.Equal(3, ids.Count);
        await using var connection = await _host.Services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            Assert.Equal([ids[2]], (await relay.LoadUnsentAsync(connection, transaction, after: ids[1], CancellationToken.None)).Select(r => r.Id));
        }

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            Assert.Equal(ids, (await relay.LoadUnsentAsync(connection, transaction, after: null, CancellationToken.None)).Select(r => r.Id));
        }
    }

    [Fact]
    public async Task Trace_of_the_writing_request_continues_through_relay_and_consumer()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Notify.", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var requestSource = new ActivitySource("Notify.Tests.Request");

        await StartAsync(runRelay: true);
        var marker = Guid.NewGuid();
        string requestTraceId;
        using (var request = requestSource.StartActivity("POST /v1/example", ActivityKind.Server))
        {
            requestTraceId = request!.TraceId.ToHexString();
            await PublishAsync(marker);
        }

        await WaitUntilAsync(async () => (await HandledAsync(marker)) == 1);
        await using var scope = _host.Services.CreateAsyncScope();
        var handled = await scope.ServiceProvider.GetRequiredService<OutboxTestDbContext>().Handled.SingleAsync(h => h.Marker == marker);
        Assert.Equal(requestTraceId, handled.TraceId);
    }

    private async Task StartAsync(bool runRelay) =>
        _host = await infrastructure.StartModuleHostAsync(
            await infrastructure.CreateDatabaseAsync("outbox"), HostRole.Worker, new OutboxTestModule(_queue, runRelay));

    private async Task PublishAsync(Guid marker)
    {
        await using var scope = _host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OutboxTestDbContext>();
        db.AddIntegrationEvent(new OutboxTestEvent(marker), null, TimeProvider.System);
        await db.SaveChangesAsync();
    }

    private async Task<int> HandledAsync(Guid marker)
    {
        await using var scope = _host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<OutboxTestDbContext>().Handled.CountAsync(h => h.Marker == marker);
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var command = _host.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static Task WaitUntilAsync(Func<Task<bool>> condition) => Eventually.WaitUntilAsync(condition, Patience);
}
