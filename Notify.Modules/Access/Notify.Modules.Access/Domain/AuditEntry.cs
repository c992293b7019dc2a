namespace Notify.Modules.Access.Domain;

/// <summary>One administrative action: who (key), what (action on a resource), from where, when.</summary>
internal sealed class AuditEntry
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public Guid? ActorKeyId { get; init; }
    public required string Action { get; init; }
    public required string ResourceType { get; init; }
    public required string ResourceId { get; init; }
    public string? IpAddress { get; init; }
    public string? UserAgent { get; init; }
    public DateTimeOffset OccurredAt { get; init; }
}
