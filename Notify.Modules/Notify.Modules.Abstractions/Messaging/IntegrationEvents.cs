using System.Text.Json;

namespace Notify.Modules.Abstractions.Messaging;

/// <summary>An event one module publishes for others. Implementations are sealed records in a Contracts project.</summary>
public interface IIntegrationEvent
{
    /// <summary>Explicit, versioned wire name, e.g. <c>access.tenant.created.v1</c>; never a CLR type name.</summary>
    static abstract string EventType { get; }
}

/// <summary>What travels on the broker: the event data plus who, when and the W3C trace context.</summary>
public sealed record IntegrationEventEnvelope(
    Guid Id,
    string Type,
    Guid? TenantId,
    DateTimeOffset OccurredAt,
    string? TraceParent,
    string? TraceState,
    JsonElement Data);

/// <summary>What a handler knows about the message it handles besides the event itself.</summary>
public sealed record IntegrationEventContext(Guid EventId, string EventType, Guid? TenantId, DateTimeOffset OccurredAt);

/// <summary>Handles one event type. Runs inside the consumer's transaction, after the inbox check.</summary>
public interface IIntegrationEventHandler<in TEvent> where TEvent : IIntegrationEvent
{
    Task HandleAsync(TEvent integrationEvent, IntegrationEventContext context, CancellationToken cancellationToken);
}

/// <summary>
/// A handler that does part of its work for a whole group of events at once — one statement for all of them rather than
/// one each — before <see cref="IIntegrationEventHandler{TEvent}.HandleAsync"/> runs for each, in the same transaction.
/// </summary>
public interface IIntegrationEventGroupPreparation<in TEvent> where TEvent : IIntegrationEvent
{
    /// <summary>Called with every event of the group the inbox let through (one tenant's), before any is handled.</summary>
    Task PrepareAsync(IReadOnlyList<TEvent> events, CancellationToken cancellationToken);
}

/// <summary>
/// A handler with nothing to do for some tenants' events at a time (webhooks for a tenant without endpoints). The
/// consumer asks before it opens the group's transaction and acknowledges such a group without it and without inbox
/// rows: an event that changes nothing changes nothing if it comes again.
/// </summary>
public interface IIntegrationEventTenantFilter<in TEvent> where TEvent : IIntegrationEvent
{
    /// <summary>False when no event of <paramref name="tenantId"/> would change anything now.</summary>
    Task<bool> HasWorkForAsync(Guid tenantId, CancellationToken cancellationToken);
}

/// <summary>
/// Holds a consumer back before it takes its next messages (backpressure): while <see cref="WaitAsync"/> has not
/// completed, the messages stay in the broker's queue, unacknowledged ones included.
/// </summary>
public interface IIntegrationEventThrottle<in TEvent> where TEvent : IIntegrationEvent
{
    /// <summary>Completes when the consumer of <paramref name="queue"/> may take more messages.</summary>
    ValueTask WaitAsync(string queue, CancellationToken cancellationToken);
}

internal static class MessagingJson
{
    public static readonly JsonSerializerOptions Options = JsonSerializerOptions.Web;
}
