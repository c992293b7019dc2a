using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;

namespace Notify.Modules.Abstractions.Messaging;

/// <summary>
/// A row of a module's outbox table, written in the same transaction as the state change it announces. The relay deletes
/// it once the broker confirmed it, so the table only holds what is still to go out.
/// </summary>
public sealed class OutboxMessage
{
    public Guid Id { get; init; }
    public required string Type { get; init; }
    public Guid? TenantId { get; init; }
    public DateTimeOffset OccurredAt { get; init; }
    public required string Payload { get; init; }
    public string? TraceParent { get; init; }
    public string? TraceState { get; init; }

    /// <summary>
    /// The outbox row of <paramref name="integrationEvent"/>, dated <paramref name="occurredAt"/> (its UUIDv7 id too, so
    /// the relay publishes in that order) and carrying the current trace context. A <paramref name="routingSuffix"/> is
    /// appended to the event type as the message's routing key (<c>type.suffix</c>), so consumers can split one event
    /// type over several queues (e.g. by priority). For paths that write rows in bulk; others use
    /// <see cref="OutboxExtensions.AddIntegrationEvent{TEvent}"/>.
    /// </summary>
    public static OutboxMessage For<TEvent>(TEvent integrationEvent, Guid? tenantId, DateTimeOffset occurredAt, string? routingSuffix = null)
        where TEvent : IIntegrationEvent
    {
        var activity = Activity.Current;
        return new OutboxMessage
        {
            Id = Guid.CreateVersion7(occurredAt),
            Type = routingSuffix is null ? TEvent.EventType : $"{TEvent.EventType}.{routingSuffix}",
            TenantId = tenantId,
            OccurredAt = occurredAt,
            Payload = JsonSerializer.Serialize(integrationEvent, MessagingJson.Options),
            TraceParent = activity?.Id,
            TraceState = activity?.TraceStateString,
        };
    }
}

/// <summary>A message a module's consumer has already handled; its key makes redelivery a no-op.</summary>
public sealed class InboxMessage
{
    public Guid MessageId { get; init; }
    public required string Consumer { get; init; }
    public DateTimeOffset ProcessedAt { get; init; }
}

public static class OutboxExtensions
{
    public const string OutboxTable = "outbox_messages";
    public const string InboxTable = "inbox_messages";

    /// <summary>Adds the outbox and inbox tables to a module's model (in the module's own schema).</summary>
    public static ModelBuilder AddOutboxAndInbox(this ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<OutboxMessage>(e =>
        {
            e.ToTable(OutboxTable);
            e.HasKey(x => x.Id);
            e.Property(x => x.Type).HasMaxLength(200);
            e.Property(x => x.Payload).HasColumnType("jsonb");
        });
        modelBuilder.Entity<InboxMessage>(e =>
        {
            e.ToTable(InboxTable);
            e.HasKey(x => new { x.MessageId, x.Consumer });
            e.Property(x => x.Consumer).HasMaxLength(200);
        });
        return modelBuilder;
    }

    /// <summary>
    /// Queues <paramref name="integrationEvent"/> in the context's outbox; it is saved (and later published)
    /// only if the caller's <c>SaveChanges</c>/transaction commits. See <see cref="OutboxMessage.For{TEvent}"/>.
    /// </summary>
    public static OutboxMessage AddIntegrationEvent<TEvent>(this DbContext db, TEvent integrationEvent, Guid? tenantId, TimeProvider clock, string? routingSuffix = null)
        where TEvent : IIntegrationEvent
    {
        var message = OutboxMessage.For(integrationEvent, tenantId, clock.GetUtcNow(), routingSuffix);
        db.Set<OutboxMessage>().Add(message);
        return message;
    }

    /// <summary>
    /// SQL for a migration: wake the relay through LISTEN/NOTIFY as soon as outbox rows commit
    /// (NOTIFY is delivered at commit, never for a rolled-back transaction).
    /// </summary>
    public static string NotifyTriggerSql(string schema) => $"""
        CREATE OR REPLACE FUNCTION "{schema}".outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('{OutboxChannel(schema)}', '');
          RETURN NULL;
        END $$;
        DROP TRIGGER IF EXISTS outbox_inserted ON "{schema}".{OutboxTable};
        CREATE TRIGGER outbox_inserted AFTER INSERT ON "{schema}".{OutboxTable}
          FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".outbox_notify();
        """;

    internal static string OutboxChannel(string schema) => $"outbox_{schema}";
}
