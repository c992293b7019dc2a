using System.Text.Json.Serialization;
using FastEndpoints;
using Notify.Modules.Delivery.Features.SendNotification;

namespace Notify.Modules.Delivery.Features.SendNotificationBatch;

/// <summary>Up to 1,000 sends in one call, each shaped like the body of <c>POST /v1/notifications</c>.</summary>
public sealed record SendNotificationBatchRequest
{
    /// <summary>The sends; each is checked on its own and gets its own result.</summary>
    public IReadOnlyList<SendNotificationRequest>? Notifications { get; init; }

    /// <summary>Covers the whole batch: a repeat with the same key gets the first answer and creates nothing.</summary>
    [FromHeader(SendNotificationRequest.IdempotencyHeader, IsRequired = false)]
    public string? IdempotencyKey { get; init; }
}

/// <summary>One result per send of the batch, in the order of the request.</summary>
public sealed record SendNotificationBatchResponse(IReadOnlyList<BatchSendResult> Results);

/// <summary>
/// The outcome of the send at <see cref="Index"/>: <c>202</c> with its notifications (stored), or <c>400</c>/<c>422</c>
/// with every problem by field, as the single send would have answered (nothing stored for it).
/// </summary>
public sealed record BatchSendResult(
    int Index,
    int Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<AcceptedNotification>? Notifications,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string[]>? Errors);
