using System.Text.RegularExpressions;
using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Webhooks.Contracts;
using Notify.Modules.Webhooks.Data;
using Notify.Modules.Webhooks.Domain;
using Notify.Modules.Webhooks.Safety;

namespace Notify.Modules.Webhooks.Features;

/// <summary>Shape rules shared by creating and changing an endpoint, and its lookup by id within the tenant.</summary>
internal static partial class WebhookRules
{
    public const int MaxHeaders = 20;

    // Set by Notify on every request; a custom header must not replace them.
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "content-type", "content-length", "content-encoding", "host", "connection", "transfer-encoding", "user-agent",
        "expect", "upgrade", "te", "trailer", "keep-alive", "proxy-authorization",
    };

    public static void AddEndpointRules<T>(this AbstractValidator<T> validator) where T : IWebhookFields
    {
        validator.RuleFor(x => x.Url).MaximumLength(2000).Must(u => u is null || WebhookUrlGuard.Shape(u) is null)
            .WithMessage((_, u) => WebhookUrlGuard.Shape(u!));
        validator.RuleFor(x => x.Description).MaximumLength(500);
        validator.RuleFor(x => x.EventTypes).Must(t => t is null || t.Count > 0)
            .WithMessage("Give at least one event type, a pattern such as notification.* or * for all.");
        validator.RuleForEach(x => x.EventTypes).Must(EventTypeFilter.IsValid)
            .WithMessage((_, t) => $"Unknown event type '{t}'. Use one of {string.Join(", ", WebhookEventTypes.All)}, a prefix pattern such as notification.*, or *.");
        validator.RuleFor(x => x.Headers).Must(h => h is null || h.Count <= MaxHeaders).WithMessage($"At most {MaxHeaders} custom headers.");
        validator.RuleForEach(x => x.Headers).Must(h => HeaderName().IsMatch(h.Key) && h.Key.Length <= 100)
            .WithMessage((_, h) => $"Header name '{h.Key}' is not a valid HTTP header name.")
            .Must(h => !ReservedHeaders.Contains(h.Key) && !h.Key.StartsWith("webhook-", StringComparison.OrdinalIgnoreCase))
            .WithMessage((_, h) => $"Header '{h.Key}' is set by Notify and cannot be replaced.")
            .Must(h => h.Value is not null && h.Value.Length <= 1000 && !h.Value.Any(c => c is '\r' or '\n' or '\0'))
            .WithMessage((_, h) => $"The value of header '{h.Key}' must be at most 1000 characters, without line breaks.");
    }

    public static Task<WebhookEndpoint?> FindAsync(this WebhooksDbContext db, Guid tenantId, Guid id, CancellationToken ct) =>
        db.Endpoints.SingleOrDefaultAsync(e => e.TenantId == tenantId && e.Id == id, ct);

    /// <summary>The tenant's endpoint if it exists and is enabled; otherwise the 404 or 409 to answer.</summary>
    public static async Task<(WebhookEndpoint? Endpoint, IResult? Problem)> FindEnabledAsync(this WebhooksDbContext db, Guid tenantId, Guid id, CancellationToken ct)
    {
        var endpoint = await db.FindAsync(tenantId, id, ct);
        return endpoint switch
        {
            null => (null, NotFound(id)),
            { Enabled: false } => (null, Disabled(id)),
            _ => (endpoint, null),
        };
    }

    public static IResult NotFound(Guid id) => ProblemResults.NotFound($"No webhook endpoint with id '{id}'.");

    public static IResult Disabled(Guid id) =>
        ProblemResults.Conflict($"Webhook endpoint '{id}' is disabled; enable it (PATCH enabled: true) before sending to it.");

    public static IResult UnsafeUrl(string detail) =>
        ProblemResults.Unprocessable(detail, new Dictionary<string, object?> { ["errors"] = new[] { new { name = "url", reason = detail } } });

    // RFC 9110 token characters.
    [GeneratedRegex("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")]
    private static partial Regex HeaderName();
}

/// <summary>The fields of an endpoint that creating and changing it share.</summary>
internal interface IWebhookFields
{
    string? Url { get; }
    string? Description { get; }
    IReadOnlyList<string>? EventTypes { get; }
    IReadOnlyDictionary<string, string>? Headers { get; }
}
