using FastEndpoints;
using FluentValidation;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Audit;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Access.Authentication;
using Notify.Modules.Access.Data;

namespace Notify.Modules.Access.Features.UpdateTenant;

public sealed record UpdateTenantRequest
{
    public Guid Id { get; init; }
    public string? Name { get; init; }
    public int? RateLimitPerMinute { get; init; }
}

internal sealed class UpdateTenantValidator : Validator<UpdateTenantRequest>
{
    public UpdateTenantValidator()
    {
        RuleFor(x => x.Name).NotEmpty().MaximumLength(200).When(x => x.Name is not null);
        RuleFor(x => x.RateLimitPerMinute).InclusiveBetween(1, 1_000_000).When(x => x.RateLimitPerMinute.HasValue);
    }
}

internal sealed class UpdateTenantEndpoint(AccessDbContext db, ApiKeyCache cache, AuditTrail audit, ITenantContext caller) : Endpoint<UpdateTenantRequest, TenantResponse>
{
    public override void Configure()
    {
        Patch("/v1/tenants/{id}");
        Policies(AccessClaims.SystemAdminPolicy);
        Description(b => b.WithTags("Access"));
        Summary(s =>
        {
            s.Summary = "Update a tenant (system administrators only)";
            s.Description = "Changes the name or the per-key request rate limit; omitted fields stay as they are.";
        });
    }

    public override async Task HandleAsync(UpdateTenantRequest req, CancellationToken ct)
    {
        var tenant = await db.Tenants.FindAsync([req.Id], ct);
        if (tenant is null)
        {
            await Send.ResultAsync(ProblemResults.NotFound($"Tenant {req.Id} does not exist."));
            return;
        }

        tenant.Name = req.Name?.Trim() ?? tenant.Name;
        tenant.RateLimitPerMinute = req.RateLimitPerMinute ?? tenant.RateLimitPerMinute;
        audit.Record(caller.TenantId, "tenant.updated", "tenant", tenant.Id.ToString());
        await db.SaveChangesAsync(ct);
        await cache.ForgetTenantAsync(tenant.Id);
        await Send.OkAsync(TenantResponse.From(tenant), ct);
    }
}
