using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Data;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Templates.Caching;
using Notify.Modules.Templates.Data;

namespace Notify.Modules.Templates.Features.Brand;

/// <summary>The tenant's brand; <c>emailTracking</c>: whether email opens and clicks are tracked at all (templates can switch it off further).</summary>
public sealed record BrandResponse(string Name, string? LogoUrl, string PrimaryColor, string? PostalAddress, DateTimeOffset? UpdatedAt, bool EmailTracking);

/// <summary>
/// The brand. <c>emailTracking</c> switches email open and click tracking on or off for the whole tenant; omitted keeps
/// the current setting (on for a new brand), so a client that only sets the look never switches tracking back on.
/// </summary>
public sealed record UpdateBrandRequest(string Name, string? LogoUrl, string? PrimaryColor, string? PostalAddress, bool? EmailTracking = null);

internal sealed class UpdateBrandValidator : Validator<UpdateBrandRequest>
{
    public UpdateBrandValidator()
    {
        RuleFor(x => x.Name).NotEmpty().MaximumLength(200);
        RuleFor(x => x.LogoUrl).MaximumLength(2000)
            .Must(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps).When(x => x.LogoUrl is not null)
            .WithMessage("logoUrl must be an absolute https URL.");
        RuleFor(x => x.PrimaryColor).Matches("^#[0-9A-Fa-f]{6}$").When(x => x.PrimaryColor is not null)
            .WithMessage("primaryColor is a hex colour like #2563EB.");
        RuleFor(x => x.PostalAddress).MaximumLength(500);
    }
}

internal sealed class GetBrandEndpoint(TemplatesDbContext db, ITenantContext tenant) : EndpointWithoutRequest<BrandResponse>
{
    public override void Configure()
    {
        Get("/v1/brand");
        Permissions(ApiScopes.NotificationsRead, ApiScopes.TemplatesWrite);
        Description(b => b.WithTags("Templates"));
        Summary(s => s.Summary = "Get the brand used by the email layout");
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var brand = await db.Brands.AsNoTracking().FirstOrDefaultAsync(b => b.TenantId == tenant.TenantId, ct);
        var snapshot = PublishedTemplateCache.ToSnapshot(brand);
        await Send.OkAsync(new BrandResponse(snapshot.Name, snapshot.LogoUrl, snapshot.PrimaryColor, snapshot.PostalAddress, brand?.UpdatedAt, snapshot.EmailTracking), ct);
    }
}

internal sealed class UpdateBrandEndpoint(TemplatesDbContext db, PublishedTemplateCache cache, ITenantContext tenant, TimeProvider clock)
    : Endpoint<UpdateBrandRequest, BrandResponse>
{
    public override void Configure()
    {
        Put("/v1/brand");
        Permissions(ApiScopes.TemplatesWrite);
        Description(b => b.WithTags("Templates"));
        Summary(s =>
        {
            s.Summary = "Set the brand (name, logo, colour, postal address) used by the email layout, and the tenant's email tracking switch";
            s.Description = "emailTracking=false stops open pixels and click redirects in every email rendered from now on; omitted keeps the current setting.";
        });
    }

    public override async Task HandleAsync(UpdateBrandRequest req, CancellationToken ct)
    {
        Domain.Brand brand;
        try
        {
            brand = await SaveAsync(req, ct);
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            // The tenant's default brand was inserted meanwhile (the Worker provisions it when the tenant is created): update it.
            db.ChangeTracker.Clear();
            brand = await SaveAsync(req, ct);
        }

        await cache.InvalidateAsync(tenant.TenantId, key: null);
        await Send.OkAsync(new BrandResponse(brand.Name, brand.LogoUrl, brand.PrimaryColor, brand.PostalAddress, brand.UpdatedAt, brand.EmailTracking), ct);
    }

    private async Task<Domain.Brand> SaveAsync(UpdateBrandRequest req, CancellationToken ct)
    {
        var brand = await db.Brands.FirstOrDefaultAsync(b => b.TenantId == tenant.TenantId, ct);
        if (brand is null)
        {
            brand = new Domain.Brand { TenantId = tenant.TenantId, Name = req.Name };
            db.Brands.Add(brand);
        }

        brand.Name = req.Name.Trim();
        brand.LogoUrl = req.LogoUrl;
        brand.PrimaryColor = req.PrimaryColor?.ToUpperInvariant() ?? Domain.Brand.DefaultColor;
        brand.PostalAddress = req.PostalAddress;
        brand.EmailTracking = req.EmailTracking ?? brand.EmailTracking;
        brand.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        return brand;
    }
}
