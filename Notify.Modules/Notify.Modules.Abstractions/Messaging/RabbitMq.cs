using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Modules;
using RabbitMQ.Client;

namespace Notify.Modules.Abstractions.Messaging;

/// <summary>
/// One AMQP connection per process, created on demand and replaced when it drops. Automatic recovery
/// is off on purpose: the relay and consumers re-declare topology and re-subscribe themselves, which
/// also covers a broker that was down when the process started.
/// </summary>
public sealed class RabbitMqConnection(string connectionString, string clientName, ILogger<RabbitMqConnection> logger) : IAsyncDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    internal static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(2);

    private IConnection? _connection;

    public async Task<IConnection> GetAsync(CancellationToken cancellationToken)
    {
        if (_connection is { IsOpen: true } open)
        {
            return open;
        }

        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_connection is { IsOpen: true } current)
            {
                return current;
            }

            if (_connection is not null)
            {
                await DisposeQuietlyAsync(_connection);
            }

            var factory = new ConnectionFactory
            {
                Uri = new Uri(connectionString),
                AutomaticRecoveryEnabled = false,
                TopologyRecoveryEnabled = false,
                ClientProvidedName = clientName,
                RequestedHeartbeat = TimeSpan.FromSeconds(15),
            };
            _connection = await factory.CreateConnectionAsync(cancellationToken);
            logger.LogInformation("Connected to RabbitMQ at {Host}:{Port}", factory.HostName, factory.Port);
            return _connection;
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await DisposeQuietlyAsync(_connection);
        }

        _lock.Dispose();
    }

    private static async Task DisposeQuietlyAsync(IConnection connection)
    {
        try
        {
            // A short close: at shutdown the broker may already be gone, and waiting out the protocol's
            // default timeout would hold the whole host for many seconds.
            await connection.CloseAsync(ShutdownTimeout);
            await connection.DisposeAsync();
        }
        catch (Exception)
        {
            // A dead connection may throw on close; there is nothing left to release.
        }
    }
}

/// <summary>
/// A consumer's queue and the routing key it is bound with: the event type, which with a topic binding such as
/// <c>type.#</c> also takes the event's routed variants (see <see cref="OutboxExtensions.AddIntegrationEvent{TEvent}"/>).
/// </summary>
public sealed record ConsumerSubscription(string Queue, string BindingKey);

/// <summary>
/// Exchanges and queues: a durable topic exchange for events, quorum queues per consumer, and a
/// dead-letter exchange for messages that fail too often. Declared by every publisher and consumer,
/// so no event is published before the queues that want it exist.
/// </summary>
public sealed class RabbitMqTopology(IEnumerable<ConsumerSubscription> subscriptions)
{
    public const string EventsExchange = "notify.events";
    public const string DeadLetterExchange = "notify.dead-letter";
    public const string DeadLetterQueue = "notify.dead-letter";
    public const int DeliveryLimit = 10;

    public IReadOnlyList<ConsumerSubscription> Subscriptions { get; } = subscriptions.ToList();

    public async Task DeclareAsync(IChannel channel, CancellationToken cancellationToken)
    {
        await channel.ExchangeDeclareAsync(EventsExchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        await channel.ExchangeDeclareAsync(DeadLetterExchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(DeadLetterQueue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancellationToken);
        await channel.QueueBindAsync(DeadLetterQueue, DeadLetterExchange, routingKey: "", cancellationToken: cancellationToken);

        foreach (var subscription in Subscriptions)
        {
            await channel.QueueDeclareAsync(subscription.Queue, durable: true, exclusive: false, autoDelete: false,
                arguments: new Dictionary<string, object?>
                {
                    ["x-queue-type"] = "quorum",
                    ["x-dead-letter-exchange"] = DeadLetterExchange,
                    ["x-delivery-limit"] = DeliveryLimit,
                },
                cancellationToken: cancellationToken);
            await channel.QueueBindAsync(subscription.Queue, EventsExchange, subscription.BindingKey, cancellationToken: cancellationToken);
        }
    }
}

internal static class RabbitMqChannels
{
    /// <summary>Closes a channel without waiting long for a broker that may be gone.</summary>
    public static async Task CloseQuietlyAsync(IChannel channel)
    {
        try
        {
            using var timeout = new CancellationTokenSource(RabbitMqConnection.ShutdownTimeout);
            await channel.CloseAsync(Constants.ReplySuccess, "closing", abort: true, timeout.Token);
        }
        catch (Exception)
        {
            // Already closed or unreachable; nothing is left to release on the broker.
        }

        channel.Dispose();
    }
}

internal sealed class RabbitMqHealthCheck(RabbitMqConnection connection) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await connection.GetAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "RabbitMQ is unreachable.", ex);
        }
    }
}

public static class MessagingServiceCollectionExtensions
{
    internal static IServiceCollection AddRabbitMqMessaging(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(sp => new RabbitMqConnection(
            configuration.GetConnectionString(ModuleHostExtensions.RabbitMqConnectionName)
                ?? throw new InvalidOperationException($"Connection string '{ModuleHostExtensions.RabbitMqConnectionName}' is missing."),
            sp.GetRequiredService<IHostEnvironment>().ApplicationName,
            sp.GetRequiredService<ILogger<RabbitMqConnection>>()));
        services.AddSingleton<RabbitMqTopology>();
        services.AddHealthChecks().AddCheck<RabbitMqHealthCheck>("rabbitmq");
        return services;
    }

    /// <summary>Runs a relay that publishes <typeparamref name="TContext"/>'s outbox (Worker only).</summary>
    public static IServiceCollection AddOutboxRelay<TContext>(this IServiceCollection services)
        where TContext : Microsoft.EntityFrameworkCore.DbContext
    {
        services.AddSingleton<OutboxRelay<TContext>>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxRelay<TContext>>());
        return services;
    }

    /// <summary>
    /// Subscribes <typeparamref name="THandler"/> to <typeparamref name="TEvent"/> through its own quorum queue
    /// <paramref name="queue"/>, with an inbox in <typeparamref name="TContext"/>'s schema (Worker only). The queue is
    /// bound with <paramref name="bindingKey"/>, by default <c>type.#</c>: the event type and all its routed variants.
    /// Up to <paramref name="concurrency"/> handler loops run at once, each handling the messages waiting for it together,
    /// a tenant at a time (each exactly once through the inbox, in no particular order); 1 keeps each tenant's order.
    /// </summary>
    public static IServiceCollection AddIntegrationEventHandler<TContext, TEvent, THandler>(
        this IServiceCollection services, string queue, string? bindingKey = null, int concurrency = 1)
        where TContext : Microsoft.EntityFrameworkCore.DbContext
        where TEvent : IIntegrationEvent
        where THandler : class, IIntegrationEventHandler<TEvent>
    {
        services.TryAddScoped<THandler>();
        services.AddSingleton(new ConsumerSubscription(queue, bindingKey ?? $"{TEvent.EventType}.#"));
        services.AddSingleton<IHostedService>(sp => ActivatorUtilities.CreateInstance<IntegrationEventConsumer<TContext, TEvent, THandler>>(
            sp, queue, new ConsumerConcurrency(Math.Max(1, concurrency))));
        return services;
    }
}

/// <summary>How many messages one consumer handles at once.</summary>
internal sealed record ConsumerConcurrency(int Value);
