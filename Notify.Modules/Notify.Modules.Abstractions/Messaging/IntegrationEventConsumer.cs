using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Tenancy;
using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Notify.Modules.Abstractions.Messaging;

/// <summary>
/// Consumes one queue and hands each event to <typeparamref name="THandler"/> exactly once per event id: the inbox
/// row and the handler's changes commit in one transaction, and a redelivered event whose inbox row exists is
/// acknowledged without running the handler again. A message carries one or more events (<see cref="OutboxRelay{TContext}"/>).
/// </summary>
/// <remarks>
/// Events that are waiting when a handler loop is free are handled together — one scope, one transaction, one inbox
/// insert and one save for all of them (per tenant, as the scope's tenant context is one tenant) — so under load a
/// transaction carries many events instead of one, and when idle an event is handled alone at once. When such a group
/// fails, each of its events is tried alone, so one bad event cannot take the others to the dead-letter queue.
/// </remarks>
internal sealed class IntegrationEventConsumer<TContext, TEvent, THandler>(
    string queue,
    ConsumerConcurrency concurrency,
    IServiceScopeFactory scopes,
    RabbitMqConnection rabbit,
    RabbitMqTopology topology,
    ILogger<IntegrationEventConsumer<TContext, TEvent, THandler>> logger,
    IIntegrationEventThrottle<TEvent>? throttle = null) : BackgroundService
    where TContext : DbContext
    where TEvent : IIntegrationEvent
    where THandler : class, IIntegrationEventHandler<TEvent>
{
    /// <summary>Events a handler loop takes for one round (it takes whole messages, so a round may end a message's worth above).</summary>
    internal const int MaxGroup = 100;

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly Channel<Received> _received = Channel.CreateUnbounded<Received>();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var handlers = Enumerable.Range(0, concurrency.Value).Select(_ => Task.Run(() => HandleReceivedAsync(stoppingToken), CancellationToken.None)).ToList();
        await ConsumeAsync(stoppingToken);
        await Task.WhenAll(handlers);
    }

    private async Task ConsumeAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            IChannel? channel = null;
            try
            {
                var connection = await rabbit.GetAsync(stoppingToken);
                channel = await connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: false, publisherConfirmationTrackingEnabled: false), stoppingToken);
                await topology.DeclareAsync(channel, stoppingToken);
                // Enough unacknowledged messages for every handler loop to take a full group, even of single-event messages.
                await channel.BasicQosAsync(0, (ushort)Math.Min(ushort.MaxValue, MaxGroup * concurrency.Value), global: false, stoppingToken);

                var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                channel.ChannelShutdownAsync += (_, _) =>
                {
                    closed.TrySetResult();
                    return Task.CompletedTask;
                };

                var consumer = new AsyncEventingBasicConsumer(channel);
                var current = channel;
                var settlements = new ChannelSettlements(
                    tag => current.BasicAckAsync(tag, multiple: true, CancellationToken.None).AsTask(),
                    (tag, requeue) => current.BasicNackAsync(tag, multiple: false, requeue, CancellationToken.None).AsTask());
                consumer.ReceivedAsync += (_, delivery) =>
                {
                    // The body is only valid during this call: copied for the handler loops.
                    _received.Writer.TryWrite(new Received(settlements, delivery.DeliveryTag, delivery.Body.ToArray()));
                    return Task.CompletedTask;
                };
                await channel.BasicConsumeAsync(queue, autoAck: false, consumer, stoppingToken);
                backoff = TimeSpan.Zero;
                logger.LogInformation("Consuming {EventType} from {Queue}", TEvent.EventType, queue);

                await closed.Task.WaitAsync(stoppingToken);
                logger.LogWarning("Channel for {Queue} closed; reconnecting", queue);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                backoff = TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, (backoff.TotalMilliseconds * 2) + 250));
                logger.LogWarning(ex, "Consumer for {Queue} failed; retrying in {Backoff}", queue, backoff);
                await Task.Delay(backoff, stoppingToken);
            }
            finally
            {
                if (channel is not null)
                {
                    await RabbitMqChannels.CloseQuietlyAsync(channel);
                }
            }
        }
    }

    /// <summary>
    /// One handler loop: takes what is waiting (messages, up to a group's worth of events), handles their events by tenant,
    /// then settles each message — acked once all its events were handled (or were repeats the inbox dropped), requeued
    /// if one of them failed (its handled siblings are in the inbox by then), dead-lettered if it cannot be read.
    /// </summary>
    private async Task HandleReceivedAsync(CancellationToken stoppingToken)
    {
        var taken = new List<Received>();
        var failed = new Dictionary<Received, bool>();
        try
        {
            while (await _received.Reader.WaitToReadAsync(stoppingToken))
            {
                if (throttle is not null)
                {
                    await throttle.WaitAsync(queue, stoppingToken);
                }

                taken.Clear();
                failed.Clear();
                var readable = new List<(Received Message, IntegrationEventEnvelope Envelope)>();
                while (readable.Count < MaxGroup && _received.Reader.TryRead(out var next))
                {
                    taken.Add(next);
                    try
                    {
                        readable.AddRange(Read(next.Body).Select(envelope => (next, envelope)));
                    }
                    catch (JsonException ex)
                    {
                        // A body that cannot be read will never succeed: straight to the dead-letter queue.
                        logger.LogError(ex, "Unreadable message on {Queue}; dead-lettering it", queue);
                        failed[next] = false;
                    }
                }

                foreach (var group in readable.GroupBy(r => r.Envelope.TenantId))
                {
                    await HandleGroupAsync([.. group], failed, stoppingToken);
                }

                foreach (var message in taken.Where(failed.ContainsKey))
                {
                    await SettleAsync(() => message.Settlements.NackAsync(message.DeliveryTag, requeue: failed[message]));
                }

                // Messages of a channel that closed meanwhile are redelivered on the new one, where the inbox drops their events.
                foreach (var channel in taken.Where(m => !failed.ContainsKey(m)).GroupBy(m => m.Settlements))
                {
                    await SettleAsync(() => channel.Key.AckAsync(channel.Select(m => m.DeliveryTag)));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Unsettled messages go back to the queue when the channel closes.
        }
    }

    /// <summary>The envelopes a message carries: an array of them (<see cref="OutboxRelay{TContext}"/>), or a single one.</summary>
    private static List<IntegrationEventEnvelope> Read(byte[] body)
    {
        var array = body.AsSpan().TrimStart(" \t\r\n"u8) is [(byte)'[', ..];
        var envelopes = array
            ? JsonSerializer.Deserialize<List<IntegrationEventEnvelope>>(body, MessagingJson.Options)
            : [JsonSerializer.Deserialize<IntegrationEventEnvelope>(body, MessagingJson.Options)!];
        return envelopes is { Count: > 0 } && envelopes.TrueForAll(e => e is not null) ? envelopes : throw new JsonException("The message carries no event.");
    }

    /// <summary>
    /// Handles one tenant's events in one transaction; when that fails, each alone, so only a bad one fails. A message
    /// with an event that failed is noted in <paramref name="failed"/>: requeued (true), or dead-lettered when its data
    /// cannot be read (false) — unless another of its events asks for a requeue.
    /// </summary>
    private async Task HandleGroupAsync(
        List<(Received Message, IntegrationEventEnvelope Envelope)> group, Dictionary<Received, bool> failed, CancellationToken stoppingToken)
    {
        try
        {
            var handled = await HandleOnceAsync(group, stoppingToken);
            MessagingTelemetry.Consumed.Add(handled, new KeyValuePair<string, object?>("queue", queue));
            if (handled < group.Count)
            {
                MessagingTelemetry.Duplicates.Add(group.Count - handled, new KeyValuePair<string, object?>("queue", queue));
                logger.LogInformation("Dropped {Count} redelivered event(s) on {Queue}", group.Count - handled, queue);
            }
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            if (group.Count > 1)
            {
                // Nothing of the group was stored: each event alone, so only a bad one fails.
                foreach (var one in group)
                {
                    await HandleGroupAsync([one], failed, stoppingToken);
                }

                return;
            }

            var message = group[0].Message;
            if (ex is JsonException)
            {
                // Data that cannot be read will never succeed: straight to the dead-letter queue.
                logger.LogError(ex, "Unreadable {EventType} on {Queue}; dead-lettering it", TEvent.EventType, queue);
                failed[message] = failed.GetValueOrDefault(message);
                return;
            }

            // Requeued; the quorum queue's delivery limit dead-letters a message that keeps failing.
            logger.LogError(ex, "Handling {EventType} on {Queue} failed; requeueing", TEvent.EventType, queue);
            failed[message] = true;
        }
    }

    /// <summary>
    /// Runs the handler for each event of one tenant whose message the inbox does not hold yet, all in one transaction;
    /// the number handled (the rest were repeats). A group the handler has nothing to do for
    /// (<see cref="IIntegrationEventTenantFilter{TEvent}"/>) counts as handled without either.
    /// </summary>
    internal async Task<int> HandleOnceAsync(IReadOnlyList<(Received Message, IntegrationEventEnvelope Envelope)> group, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var services = scope.ServiceProvider;
        if (group[0].Envelope.TenantId is { } tenantId)
        {
            services.GetRequiredService<TenantContext>().Set(tenantId);
        }

        var handler = services.GetRequiredService<THandler>();
        if (handler is IIntegrationEventTenantFilter<TEvent> filter && group[0].Envelope.TenantId is { } tenant
            && !await filter.HasWorkForAsync(tenant, cancellationToken))
        {
            return group.Count;
        }

        var db = services.GetRequiredService<TContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var fresh = await NewToInboxAsync(db, group.Select(g => g.Envelope.Id).ToArray(), cancellationToken);
        var events = group.Where(g => fresh.Contains(g.Envelope.Id))
            .Select(g => (g.Message, g.Envelope, Event: g.Envelope.Data.Deserialize<TEvent>(MessagingJson.Options)
                ?? throw new JsonException($"Message {g.Envelope.Id} has no data.")))
            .ToList();
        if (handler is IIntegrationEventGroupPreparation<TEvent> preparation && events.Count > 0)
        {
            await preparation.PrepareAsync([.. events.Select(e => e.Event)], cancellationToken);
        }

        foreach (var (_, envelope, integrationEvent) in events)
        {
            using var activity = MessagingTelemetry.Source.StartActivity(
                $"{TEvent.EventType} process",
                ActivityKind.Consumer,
                MessagingTelemetry.ParentFrom(envelope.TraceParent, envelope.TraceState));
            activity?.SetTag("messaging.system", "rabbitmq");
            activity?.SetTag("messaging.destination.name", queue);
            activity?.SetTag("messaging.message.id", envelope.Id.ToString());
            await handler.HandleAsync(integrationEvent, new IntegrationEventContext(envelope.Id, envelope.Type, envelope.TenantId, envelope.OccurredAt), cancellationToken);
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return fresh.Count;
    }

    /// <summary>
    /// Records the message ids in the consumer's inbox, in the transaction of <paramref name="db"/>; the ones not there
    /// before. Npgsql directly: it runs for every group every consumer takes, and EF (its raw-SQL query pipeline here, its
    /// saves and queries elsewhere) was ~14% of the Worker's CPU under load (bench/delivery.sh, perf).
    /// </summary>
    private async Task<HashSet<Guid>> NewToInboxAsync(TContext db, Guid[] ids, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"""
            INSERT INTO "{db.Model.GetDefaultSchema()}".{OutboxExtensions.InboxTable} (message_id, consumer, processed_at)
            SELECT id, @consumer, now() FROM unnest(@ids) AS id
            ON CONFLICT DO NOTHING
            RETURNING message_id
            """,
            (NpgsqlConnection)db.Database.GetDbConnection());
        command.Parameters.AddWithValue("consumer", queue);
        command.Parameters.AddWithValue("ids", ids);
        var fresh = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            fresh.Add(reader.GetGuid(0));
        }

        return fresh;
    }

    private async Task SettleAsync(Func<Task> settle)
    {
        try
        {
            await settle();
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.AlreadyClosedException or ObjectDisposedException)
        {
            // The channel closed meanwhile: the broker delivers the message again, and the inbox drops the repeat.
            logger.LogDebug("Could not settle a message on {Queue}: its channel closed", queue);
        }
    }

    /// <summary>A message as received: the settlements of the channel it came on, and its body copied.</summary>
    internal sealed class Received(ChannelSettlements settlements, ulong deliveryTag, byte[] body)
    {
        public ChannelSettlements Settlements { get; } = settlements;
        public ulong DeliveryTag { get; } = deliveryTag;
        public byte[] Body { get; } = body;
    }
}
