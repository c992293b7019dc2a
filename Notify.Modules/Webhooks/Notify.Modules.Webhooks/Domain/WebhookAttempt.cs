namespace Notify.Modules.Webhooks.Domain;

/// <summary>One HTTP request of a delivery and what came back: the attempt log.</summary>
internal sealed class WebhookAttempt
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public Guid EndpointId { get; init; }
    public Guid DeliveryId { get; init; }
    public Guid EventId { get; init; }
    public required string EventType { get; init; }
    public int AttemptNumber { get; init; }
    public bool Succeeded { get; init; }
    public int? StatusCode { get; init; }
    public int DurationMs { get; init; }
    public string? ResponseBody { get; init; }
    public string? Error { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}
