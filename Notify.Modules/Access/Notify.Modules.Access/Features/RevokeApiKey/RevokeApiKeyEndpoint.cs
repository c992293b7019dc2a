using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Audit;
using Notify.Modules.Access.Authentication;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Access.Data;

namespace Notify.Modules.Access.Features.RevokeApiKey;

public sealed record RevokeApiKeyRequest(Guid Id);

internal sealed class RevokeApiKeyEndpoint(AccessDbContext db, ApiKeyCache cache, AuditTrail audit, ITenantContext tenant, TimeProvider clock) : Endpoint<RevokeApiKeyRequest>
{
    public override void Configure()
    {
        Delete("/v1/api-keys/{id}");
        Permissions(ApiScopes.Admin);
        Description(b => b.WithTags("Access"));
        Summary(s =>
        {
            s.Summary = "Revoke an API key";
            s.Description = "Takes effect on the key's next request. Revoking an already revoked key changes nothing.";
        });
    }

    public override async Task HandleAsync(RevokeApiKeyRequest req, CancellationToken ct)
    {
        // Another tenant's key is reported as missing, never as forbidden: its existence is not ours to reveal.
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == req.Id && k.TenantId == tenant.TenantId, ct);
        if (key is null)
        {
            await Send.ResultAsync(ProblemResults.NotFound($"API key {req.Id} does not exist."));
            return;
        }

        if (key.RevokedAt is null)
        {
            key.RevokedAt = clock.GetUtcNow();
            audit.Record(tenant.TenantId, "api_key.revoked", "api_key", key.Id.ToString());
            await db.SaveChangesAsync(ct);
            await cache.ForgetKeyAsync(key.KeyHash);
        }

        await Send.NoContentAsync(ct);
    }
}
