using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Access.Domain;

namespace Notify.Modules.Access.Data;

/// <summary>
/// Creates the system tenant and registers the operator's bootstrap admin key (an AppHost secret parameter),
/// so a fresh deployment can be administered at once. Idempotent: it runs on every migration.
/// </summary>
internal sealed class BootstrapAdmin(AccessDbContext db, TimeProvider clock, ILogger<BootstrapAdmin> logger)
{
    public const string ConfigurationKey = "Notify:BootstrapAdminKey";
    public const string SystemTenantName = "System";

    public async Task EnsureAsync(string? bootstrapKey, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var system = await db.Tenants.FirstOrDefaultAsync(t => t.IsSystem, cancellationToken);
        if (system is null)
        {
            system = new Tenant { Id = Ids.New(clock), Name = SystemTenantName, IsSystem = true, CreatedAt = now, ProvisionedAt = now };
            db.Tenants.Add(system);
            logger.LogInformation("Created the system tenant {TenantId}", system.Id);
        }

        if (string.IsNullOrWhiteSpace(bootstrapKey))
        {
            logger.LogWarning("{Key} is not set: no bootstrap admin key was registered", ConfigurationKey);
        }
        else
        {
            var hash = ApiKey.Hash(bootstrapKey);
            if (!await db.ApiKeys.AnyAsync(k => k.KeyHash == hash, cancellationToken))
            {
                db.ApiKeys.Add(ApiKey.FromPlainKey(Ids.New(clock), system.Id, "Bootstrap admin key", bootstrapKey, [ApiScopes.Admin], null, now, null));
                logger.LogInformation("Registered the bootstrap admin key");
            }
        }

        await db.SaveChangesAsync(cancellationToken);
    }
}
