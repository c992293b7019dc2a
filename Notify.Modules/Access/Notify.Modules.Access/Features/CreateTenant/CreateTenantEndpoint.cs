using FastEndpoints;
using FluentValidation;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Audit;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Access.Data;
using Notify.Modules.Access.Domain;

namespace Notify.Modules.Access.Features.CreateTenant;

public sealed record CreateTenantRequest(string Name, int? RateLimitPerMinute);

public sealed record TenantCreatedResponse(TenantResponse Tenant, ApiKeyCreatedResponse ApiKey);

internal sealed class CreateTenantValidator : Validator<CreateTenantRequest>
{
    public CreateTenantValidator()
    {
        RuleFor(x => x.Name).NotEmpty().MaximumLength(200);
        RuleFor(x => x.RateLimitPerMinute).InclusiveBetween(1, 1_000_000).When(x => x.RateLimitPerMinute.HasValue);
    }
}

internal sealed class CreateTenantEndpoint(AccessDbContext db, AuditTrail audit, ITenantContext caller, TimeProvider clock)
    : Endpoint<CreateTenantRequest, TenantCreatedResponse>
{
    public override void Configure()
    {
        Post("/v1/tenants");
        Policies(AccessClaims.SystemAdminPolicy);
        Description(b => b.WithTags("Access"));
        Summary(s =>
        {
            s.Summary = "Create a tenant";
            s.Description = "System administrators only. Returns the tenant and its first admin API key, shown once.";
        });
    }

    public override async Task HandleAsync(CreateTenantRequest req, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var tenant = new Tenant
        {
            Id = Ids.New(clock),
            Name = req.Name.Trim(),
            RateLimitPerMinute = req.RateLimitPerMinute ?? Tenant.DefaultRateLimitPerMinute,
            CreatedAt = now,
        };
        var (key, plainKey) = ApiKey.Create(Ids.New(clock), tenant.Id, "Initial admin key", [ApiScopes.Admin], null, now, null);

        db.Tenants.Add(tenant);
        db.ApiKeys.Add(key);
        db.AddIntegrationEvent(new TenantCreatedIntegrationEvent(tenant.Id, tenant.Name), tenant.Id, clock);
        audit.Record(caller.TenantId, "tenant.created", "tenant", tenant.Id.ToString());
        await db.SaveChangesAsync(ct);

        await Send.CreatedAtAsync<GetTenant.GetTenantEndpoint>(
            new { id = tenant.Id }, new TenantCreatedResponse(TenantResponse.From(tenant), ApiKeyCreatedResponse.From(key, plainKey)), cancellation: ct);
    }
}
