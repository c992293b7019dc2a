using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Security;

namespace Notify.Modules.Delivery.Inbox;

/// <summary>Whose inbox a subscriber token opens. Short names keep the token short (it travels in URLs).</summary>
internal sealed record SubscriberTokenPayload(Guid T, string U);

/// <summary>Limits of the recipient-facing inbox API (<c>Notify:Inbox</c>).</summary>
internal sealed class InboxOptions
{
    public const string Section = "Notify:Inbox";

    /// <summary>Requests per minute one recipient may make (all their tokens and devices together, on every replica).</summary>
    public int RequestsPerMinute { get; set; } = 600;
}

/// <summary>
/// Subscriber tokens: signed, expiring tokens that let one recipient's browser or app read their own inbox without an
/// API key. Read from <c>Authorization: Bearer</c> or <c>?token=</c> (browsers' EventSource cannot set headers). Each
/// recipient has a request budget (<see cref="InboxOptions.RequestsPerMinute"/>): these endpoints face the internet.
/// </summary>
internal sealed class InboxTokens(SignedTokens tokens, RequestBudget budget, IOptions<InboxOptions> options)
{
    public const string Purpose = "inbox";
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(24);
    public const int MinSeconds = 60;
    public const int MaxSeconds = 30 * 24 * 3600;

    private const string BearerPrefix = "Bearer ";

    /// <summary>The subscriber the request's token names, or null after answering 401 with why (or 429 when their budget is spent).</summary>
    public async Task<SubscriberTokenPayload?> AuthenticateAsync(HttpContext http)
    {
        string? header = http.Request.Headers.Authorization;
        var token = header is not null && header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)
            ? header[BearerPrefix.Length..].Trim()
            : http.Request.Query["token"].ToString();
        var result = tokens.Read<SubscriberTokenPayload>(Purpose, token);
        if (result.IsValid && !string.IsNullOrEmpty(result.Payload!.U))
        {
            var owner = result.Payload;
            return await budget.TryTakeAsync(http, $"inbox:{owner.T:N}:{owner.U}", options.Value.RequestsPerMinute, "This recipient") ? owner : null;
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
