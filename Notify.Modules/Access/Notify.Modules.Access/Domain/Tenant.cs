namespace Notify.Modules.Access.Domain;

internal sealed class Tenant
{
    public const int DefaultRateLimitPerMinute = 6000;

    public Guid Id { get; init; }
    public required string Name { get; set; }

    /// <summary>The system tenant's admin keys administer every tenant; there is exactly one.</summary>
    public bool IsSystem { get; init; }

    /// <summary>Requests per minute each API key of this tenant may make.</summary>
    public int RateLimitPerMinute { get; set; } = DefaultRateLimitPerMinute;

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Set by the Worker once the tenant-created event has been handled.</summary>
    public DateTimeOffset? ProvisionedAt { get; set; }
}
