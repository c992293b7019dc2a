using Notify.Modules.Access.Domain;

namespace Notify.Modules.Access.Features;

/// <summary>An API key as listed: never the key itself, only its prefix.</summary>
public sealed record ApiKeyResponse(
    Guid Id, string Name, string Prefix, IReadOnlyList<string> Scopes, DateTimeOffset? ExpiresAt,
    DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt)
{
    internal static ApiKeyResponse From(ApiKey key) =>
        new(key.Id, key.Name, key.Prefix, key.Scopes, key.ExpiresAt, key.CreatedAt, key.LastUsedAt, key.RevokedAt);
}

/// <summary>A newly created key. <see cref="Key"/> is shown this once and cannot be retrieved again.</summary>
public sealed record ApiKeyCreatedResponse(
    Guid Id, string Name, string Key, string Prefix, IReadOnlyList<string> Scopes, DateTimeOffset? ExpiresAt, DateTimeOffset CreatedAt)
{
    internal static ApiKeyCreatedResponse From(ApiKey key, string plainKey) =>
        new(key.Id, key.Name, plainKey, key.Prefix, key.Scopes, key.ExpiresAt, key.CreatedAt);
}

/// <summary>A tenant as seen by the system administrator.</summary>
public sealed record TenantResponse(Guid Id, string Name, bool IsSystem, int RateLimitPerMinute, DateTimeOffset CreatedAt, DateTimeOffset? ProvisionedAt)
{
    internal static TenantResponse From(Tenant tenant) =>
        new(tenant.Id, tenant.Name, tenant.IsSystem, tenant.RateLimitPerMinute, tenant.CreatedAt, tenant.ProvisionedAt);
}
