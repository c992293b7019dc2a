namespace Notify.Modules.Webhooks.Domain;

/// <summary>A tenant's URL that receives signed event webhooks.</summary>
internal sealed class WebhookEndpoint
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public required string Url { get; set; }
    public string? Description { get; set; }

    /// <summary>Event types, <c>prefix.*</c> patterns or <c>*</c> (see <see cref="EventTypeFilter"/>).</summary>
    public required string[] EventTypes { get; set; }

    public bool Enabled { get; set; } = true;
    public Dictionary<string, string> Headers { get; set; } = [];

    /// <summary>
    /// The signing secret (<c>whsec_</c> + base64). Stored as is, not hashed: signing needs the secret itself;
    /// the API shows it only on creation and rotation.
    /// </summary>
    public required string Secret { get; set; }

    /// <summary>The secret before the last rotation, which signs alongside until <see cref="PreviousSecretExpiresAt"/>.</summary>
    public string? PreviousSecret { get; set; }
    public DateTimeOffset? PreviousSecretExpiresAt { get; set; }

    public int ConsecutiveFailures { get; set; }
    public string? DisabledReason { get; set; }
    public DateTimeOffset? DisabledAt { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }

    public void Enable(DateTimeOffset now)
    {
        Enabled = true;
        ConsecutiveFailures = 0;
        DisabledReason = null;
        DisabledAt = null;
        UpdatedAt = now;
    }
}
