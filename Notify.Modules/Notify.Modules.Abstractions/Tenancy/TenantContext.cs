namespace Notify.Modules.Abstractions.Tenancy;

/// <summary>The tenant the current request or message acts for.</summary>
public interface ITenantContext
{
    /// <summary>True once authentication (or a consumed message) has named a tenant.</summary>
    bool HasTenant { get; }

    /// <summary>The current tenant; throws when none was set, so no query can run unscoped by accident.</summary>
    Guid TenantId { get; }
}

/// <summary>Scoped holder set once per request (by authentication) or per message (by the consumer).</summary>
public sealed class TenantContext : ITenantContext
{
    private Guid? _tenantId;

    public bool HasTenant => _tenantId.HasValue;

    public Guid TenantId => _tenantId ?? throw new InvalidOperationException("No tenant is set for this scope.");

    public void Set(Guid tenantId)
    {
        if (_tenantId.HasValue && _tenantId != tenantId)
        {
            throw new InvalidOperationException("The tenant of a scope cannot change.");
        }

        _tenantId = tenantId;
    }
}
