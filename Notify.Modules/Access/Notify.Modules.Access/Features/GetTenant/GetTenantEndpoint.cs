using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Access.Data;

namespace Notify.Modules.Access.Features.GetTenant;

public sealed record GetTenantRequest(Guid Id);

internal sealed class GetTenantEndpoint(AccessDbContext db) : Endpoint<GetTenantRequest, TenantResponse>
{
    public override void Configure()
    {
        Get("/v1/tenants/{id}");
        Policies(AccessClaims.SystemAdminPolicy);
        Description(b => b.WithTags("Access"));
        Summary(s => s.Summary = "Get a tenant (system administrators only)");
    }

    public override async Task HandleAsync(GetTenantRequest req, CancellationToken ct)
    {
        var tenant = await db.Tenants.AsNoTracking().FirstOrDefaultAsync(t => t.Id == req.Id, ct);
        if (tenant is null)
        {
            await Send.ResultAsync(ProblemResults.NotFound($"Tenant {req.Id} does not exist."));
            return;
        }

        await Send.OkAsync(TenantResponse.From(tenant), ct);
    }
}
