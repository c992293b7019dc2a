using Notify.Modules.Abstractions.Messaging;

namespace Notify.Modules.Access.Contracts;

/// <summary>
/// An action another module took on its own (no API request behind it) that belongs in the tenant's audit
/// log, e.g. the Worker disabling a failing webhook endpoint. Written to the module's outbox with the tenant
/// as the row's tenant; Access records it with no actor key.
/// </summary>
/// <param name="Action">What happened, e.g. <c>webhook.disabled</c>.</param>
/// <param name="ResourceType">The kind of resource, e.g. <c>webhook</c>.</param>
/// <param name="ResourceId">The resource's id.</param>
public sealed record AuditEventIntegrationEvent(string Action, string ResourceType, string ResourceId) : IIntegrationEvent
{
    /// <inheritdoc />
    public static string EventType => "access.audit.recorded.v1";
}
