using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Templates.Caching;
using Notify.Modules.Templates.Data;

namespace Notify.Modules.Templates.Features.Brand;

public sealed record BrandResponse(string Name, string? LogoUrl, string PrimaryColor, string? PostalAddress, DateTimeOffset? UpdatedAt);

public sealed record UpdateBrandRequest(string Name, string? LogoUrl, string? PrimaryColor, string? PostalAddress);

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
        await Send.OkAsync(new BrandResponse(snapshot.Name, snapshot.LogoUrl, snapshot.PrimaryColor, snapshot.PostalAddress, brand?.UpdatedAt), ct);
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
        Summary(s => s.Summary = "Set the brand (name, logo, colour, postal address) used by the email layout");
    }

    public override async Task HandleAsync(UpdateBrandRequest req, CancellationToken ct)
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
        brand.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        await cache.InvalidateAsync(tenant.TenantId, key: null);
        await Send.OkAsync(new BrandResponse(brand.Name, brand.LogoUrl, brand.PrimaryColor, brand.PostalAddress, brand.UpdatedAt), ct);
    }
}
