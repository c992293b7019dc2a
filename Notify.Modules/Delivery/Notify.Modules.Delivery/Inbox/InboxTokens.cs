using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Security;

namespace Notify.Modules.Delivery.Inbox;

/// <summary>Whose inbox a subscriber token opens. Short names keep the token short (it travels in URLs).</summary>
internal sealed record SubscriberTokenPayload(Guid T, string U);

/// <summary>
/// Subscriber tokens: signed, expiring tokens that let one recipient's browser or app read their own inbox without an
/// API key. Read from <c>Authorization: Bearer</c> or <c>?token=</c> (browsers' EventSource cannot set headers).
/// </summary>
internal static class InboxTokens
{
    public const string Purpose = "inbox";
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(24);
    public const int MinSeconds = 60;
    public const int MaxSeconds = 30 * 24 * 3600;

    private const string BearerPrefix = "Bearer ";

    /// <summary>The subscriber the request's token names, or null after answering 401 with why.</summary>
    public static async Task<SubscriberTokenPayload?> AuthenticateAsync(HttpContext http, SignedTokens tokens)
    {
        string? header = http.Request.Headers.Authorization;
        var token = header is not null && header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)
            ? header[BearerPrefix.Length..].Trim()
            : http.Request.Query["token"].ToString();
        var result = tokens.Read<SubscriberTokenPayload>(Purpose, token);
        if (result.IsValid && !string.IsNullOrEmpty(result.Payload!.U))
        {
            return result.Payload;
        }

        http.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
        await Problems.WriteAsync(http, StatusCodes.Status401Unauthorized, "Unauthorized",
            result.Failure == TokenFailure.Expired
                ? "The subscriber token has expired; get a new one from POST /v1/users/{userId}/subscriber-token."
                : "Send a subscriber token (from POST /v1/users/{userId}/subscriber-token) as 'Authorization: Bearer <token>' or as '?token='.",
            result.Failure == TokenFailure.Expired ? "token-expired" : "unauthorized");
        return null;
    }
}
