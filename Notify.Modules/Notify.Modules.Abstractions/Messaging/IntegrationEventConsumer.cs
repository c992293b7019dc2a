using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Tenancy;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Notify.Modules.Abstractions.Messaging;

/// <summary>
/// Consumes one queue and hands each event to <typeparamref name="THandler"/> exactly once per message id:
/// the inbox row and the handler's changes commit in one transaction, and a redelivered message whose
/// inbox row exists is acknowledged without running the handler again.
/// </summary>
internal sealed class IntegrationEventConsumer<TContext, TEvent, THandler>(
    string queue,
    ConsumerConcurrency concurrency,
    IServiceScopeFactory scopes,
    RabbitMqConnection rabbit,
    RabbitMqTopology topology,
    ILogger<IntegrationEventConsumer<TContext, TEvent, THandler>> logger) : BackgroundService
    where TContext : DbContext
    where TEvent : IIntegrationEvent
    where THandler : class, IIntegrationEventHandler<TEvent>
{
    private const int PrefetchPerHandler = 32;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            IChannel? channel = null;
            try
            {
                var connection = await rabbit.GetAsync(stoppingToken);
                // The client dispatches one message at a time unless told otherwise; the prefetch keeps every handler busy.
                channel = await connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: false, publisherConfirmationTrackingEnabled: false,
                        consumerDispatchConcurrency: (ushort)concurrency.Value),
                    stoppingToken);
                await topology.DeclareAsync(channel, stoppingToken);
                await channel.BasicQosAsync(0, (ushort)Math.Min(ushort.MaxValue, PrefetchPerHandler * concurrency.Value), global: false, stoppingToken);

                var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                channel.ChannelShutdownAsync += (_, _) =>
                {
                    closed.TrySetResult();
                    return Task.CompletedTask;
                };

                var consumer = new AsyncEventingBasicConsumer(channel);
                consumer.ReceivedAsync += (_, delivery) => OnReceivedAsync(channel, delivery, stoppingToken);
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

    private async Task OnReceivedAsync(IChannel channel, BasicDeliverEventArgs delivery, CancellationToken stoppingToken)
    {
        var headers = delivery.BasicProperties.Headers;
        using var activity = MessagingTelemetry.Source.StartActivity(
            $"{TEvent.EventType} process",
            ActivityKind.Consumer,
            MessagingTelemetry.ParentFrom(
                MessagingTelemetry.HeaderString(headers, MessagingTelemetry.TraceParentHeader),
                MessagingTelemetry.HeaderString(headers, MessagingTelemetry.TraceStateHeader)));
        activity?.SetTag("messaging.system", "rabbitmq");
        activity?.SetTag("messaging.destination.name", queue);

        try
        {
            var envelope = JsonSerializer.Deserialize<IntegrationEventEnvelope>(delivery.Body.Span, MessagingJson.Options)
                ?? throw new JsonException("Empty message body.");
            activity?.SetTag("messaging.message.id", envelope.Id.ToString());

            if (await HandleOnceAsync(envelope, stoppingToken))
            {
                MessagingTelemetry.Consumed.Add(1, new KeyValuePair<string, object?>("queue", queue));
            }
            else
            {
                MessagingTelemetry.Duplicates.Add(1, new KeyValuePair<string, object?>("queue", queue));
                logger.LogInformation("Dropped redelivered message {MessageId} on {Queue}", envelope.Id, queue);
            }

            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, stoppingToken);
        }
        catch (JsonException ex)
        {
            // A body that cannot be read will never succeed: straight to the dead-letter queue.
            logger.LogError(ex, "Unreadable message on {Queue}; dead-lettering it", queue);
            await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: false, CancellationToken.None);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // Requeued; the quorum queue's delivery limit dead-letters a message that keeps failing.
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            logger.LogError(ex, "Handling {EventType} on {Queue} failed; requeueing", TEvent.EventType, queue);
            await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true, CancellationToken.None);
        }
    }

    /// <summary>Runs the handler unless the inbox already holds this message; true if it ran.</summary>
    internal async Task<bool> HandleOnceAsync(IntegrationEventEnvelope envelope, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var services = scope.ServiceProvider;
        if (envelope.TenantId is { } tenantId)
        {
            services.GetRequiredService<TenantContext>().Set(tenantId);
        }

        var db = services.GetRequiredService<TContext>();
        var schema = db.Model.GetDefaultSchema();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
#pragma warning disable EF1002 // The schema comes from the model, not from input.
        var inserted = await db.Database.ExecuteSqlRawAsync(
            $$"""INSERT INTO "{{schema}}".{{OutboxExtensions.InboxTable}} (message_id, consumer, processed_at) VALUES ({0}, {1}, now()) ON CONFLICT DO NOTHING""",
            [envelope.Id, queue],
            cancellationToken);
#pragma warning restore EF1002
        if (inserted == 0)
        {
            return false;
        }

        var integrationEvent = envelope.Data.Deserialize<TEvent>(MessagingJson.Options)
            ?? throw new JsonException($"Message {envelope.Id} has no data.");
        var context = new IntegrationEventContext(envelope.Id, envelope.Type, envelope.TenantId, envelope.OccurredAt);
        await services.GetRequiredService<THandler>().HandleAsync(integrationEvent, context, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }
}
