using Notify.Modules.Abstractions.Messaging;

namespace Notify.Modules.Access.Contracts;

/// <summary>A tenant was created; modules provision what a new tenant needs (defaults, system templates).</summary>
/// <param name="TenantId">The new tenant.</param>
/// <param name="Name">Its display name.</param>
public sealed record TenantCreatedIntegrationEvent(Guid TenantId, string Name) : IIntegrationEvent
{
    /// <inheritdoc />
    public static string EventType => "access.tenant.created.v1";
}
