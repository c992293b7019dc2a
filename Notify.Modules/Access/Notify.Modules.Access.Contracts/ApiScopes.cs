namespace Notify.Modules.Access.Contracts;

/// <summary>The scopes an API key can hold (DESIGN §8). <see cref="Admin"/> implies every other scope.</summary>
public static class ApiScopes
{
    /// <summary>Send notifications.</summary>
    public const string NotificationsSend = "notifications:send";
    /// <summary>Read notifications, their deliveries and templates.</summary>
    public const string NotificationsRead = "notifications:read";
    /// <summary>Create, edit and publish templates.</summary>
    public const string TemplatesWrite = "templates:write";
    /// <summary>Manage recipients and their preferences.</summary>
    public const string PreferencesWrite = "preferences:write";
    /// <summary>Manage outbound webhooks.</summary>
    public const string WebhooksManage = "webhooks:manage";
    /// <summary>Create data exports.</summary>
    public const string ExportsCreate = "exports:create";
    /// <summary>Read analytics.</summary>
    public const string AnalyticsRead = "analytics:read";
    /// <summary>Everything, including API keys and the audit log.</summary>
    public const string Admin = "admin";

    /// <summary>Every scope, in documentation order.</summary>
    public static readonly IReadOnlyList<string> All =
        [NotificationsSend, NotificationsRead, TemplatesWrite, PreferencesWrite, WebhooksManage, ExportsCreate, AnalyticsRead, Admin];
}

/// <summary>Claim types of an authenticated API key's principal.</summary>
public static class AccessClaims
{
    /// <summary>One claim per scope the key holds (admin keys get every scope).</summary>
    public const string Scope = "scope";
    /// <summary>The tenant the key belongs to.</summary>
    public const string TenantId = "notify:tenant_id";
    /// <summary>The key's id (the actor in audit entries).</summary>
    public const string ApiKeyId = "notify:api_key_id";

    /// <summary>Present (value "true") on keys of the system tenant, which administers other tenants.</summary>
    public const string SystemTenant = "notify:system_tenant";

    /// <summary>Authorization policy: an admin key of the system tenant.</summary>
    public const string SystemAdminPolicy = "system-admin";

    /// <summary>The authentication scheme of API keys.</summary>
    public const string ApiKeyScheme = "ApiKey";
}
