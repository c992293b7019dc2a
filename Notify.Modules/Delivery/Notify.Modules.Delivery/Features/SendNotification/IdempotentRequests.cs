using System.Security.Cryptography;
using System.Text.Json;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Delivery.Domain;

namespace Notify.Modules.Delivery.Features.SendNotification;

/// <summary>The <c>Idempotency-Key</c> rules the single and the batch send share.</summary>
internal static class IdempotentRequests
{
    /// <summary>SHA-256 of the request as bound, without its key, so formatting differences do not count as a different request.</summary>
    public static string Hash<TRequest>(TRequest requestWithoutKey) =>
        Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(requestWithoutKey, JsonSerializerOptions.Web)));

    /// <summary>A 409 when the key came with a different request; null when this is a repeat of the request that used it.</summary>
    public static IResult? ConflictOf(IdempotencyRecord record, string requestHash) =>
        record.RequestHash == requestHash
            ? null
            : ProblemResults.Conflict(
                $"Idempotency-Key '{record.Key}' was already used with a different request at {record.CreatedAt:O}; use a new key for a new request.");

    /// <summary>The answer the first request got, to send again (through the endpoint, so it is serialized the same way).</summary>
    public static TResponse OriginalResponse<TResponse>(IdempotencyRecord record) =>
        JsonSerializer.Deserialize<TResponse>(record.Response, JsonSerializerOptions.Web)!;
}
