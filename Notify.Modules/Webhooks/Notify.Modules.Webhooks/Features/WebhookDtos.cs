using Notify.Modules.Webhooks.Domain;

namespace Notify.Modules.Webhooks.Features;

/// <summary>A webhook endpoint as the API shows it; the secret is shown only on creation and rotation.</summary>
public sealed record WebhookResponse(
    Guid Id,
    string Url,
    string? Description,
    IReadOnlyList<string> EventTypes,
    bool Enabled,
    IReadOnlyDictionary<string, string> Headers,
    string? DisabledReason,
    DateTimeOffset? DisabledAt,
    DateTimeOffset? PreviousSecretExpiresAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    internal static WebhookResponse From(WebhookEndpoint e) => new(
        e.Id, e.Url, e.Description, e.EventTypes, e.Enabled, e.Headers, e.DisabledReason, e.DisabledAt,
        e.PreviousSecretExpiresAt, e.CreatedAt, e.UpdatedAt);
}
