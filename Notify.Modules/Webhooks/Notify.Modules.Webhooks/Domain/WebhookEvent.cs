namespace Notify.Modules.Webhooks.Domain;

/// <summary>One event of a tenant, with the exact body every attempt sends (and signs).</summary>
internal sealed class WebhookEvent
{
    /// <summary>Also the <c>webhook-id</c> header: the same on every attempt and endpoint, so receivers can deduplicate.</summary>
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public required string Type { get; init; }

    /// <summary><c>{"type":…,"timestamp":…,"data":…}</c> as sent; text, not jsonb, so the signed bytes never change.</summary>
    public required string Payload { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}
