namespace Notify.Modules.Webhooks.Domain;

/// <summary>
/// One event on its way to one endpoint. While <see cref="Status"/> is pending, <see cref="NextAttemptAt"/>
/// says when a Worker may pick it up: the retry schedule lives in this row, not in a timer.
/// </summary>
internal sealed class WebhookDelivery
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public Guid EndpointId { get; init; }
    public Guid EventId { get; init; }
    public DeliveryStatus Status { get; set; }

    /// <summary>Attempts started so far (a Worker increments it when it claims the delivery).</summary>
    public int AttemptCount { get; set; }
    public DateTimeOffset? NextAttemptAt { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }

    public static WebhookDelivery Due(Guid id, Guid tenantId, Guid endpointId, Guid eventId, DateTimeOffset now) => new()
    {
        Id = id,
        TenantId = tenantId,
        EndpointId = endpointId,
        EventId = eventId,
        Status = DeliveryStatus.Pending,
        NextAttemptAt = now,
        CreatedAt = now,
        UpdatedAt = now,
    };
}

internal enum DeliveryStatus
{
    Pending,
    Succeeded,
    Failed,
}
