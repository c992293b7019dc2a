using FastEndpoints;
using FluentValidation;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Audit;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Access.Data;
using Notify.Modules.Access.Domain;

namespace Notify.Modules.Access.Features.CreateApiKey;

public sealed record CreateApiKeyRequest(string Name, IReadOnlyList<string> Scopes, DateTimeOffset? ExpiresAt);

internal sealed class CreateApiKeyValidator : Validator<CreateApiKeyRequest>
{
    public CreateApiKeyValidator(TimeProvider clock)
    {
        RuleFor(x => x.Name).NotEmpty().MaximumLength(200);
        RuleFor(x => x.Scopes).NotEmpty().WithMessage("Give the key at least one scope.");
        RuleForEach(x => x.Scopes)
            .Must(s => ApiScopes.All.Contains(s, StringComparer.Ordinal))
            .WithMessage((_, s) => $"Unknown scope '{s}'. Valid scopes: {string.Join(", ", ApiScopes.All)}.");
        RuleFor(x => x.ExpiresAt)
            .Must(e => e > clock.GetUtcNow()).When(x => x.ExpiresAt.HasValue)
            .WithMessage("expiresAt must be in the future.");
    }
}

internal sealed class CreateApiKeyEndpoint(AccessDbContext db, AuditTrail audit, ITenantContext tenant, TimeProvider clock)
    : Endpoint<CreateApiKeyRequest, ApiKeyCreatedResponse>
{
    public override void Configure()
    {
        Post("/v1/api-keys");
        Permissions(ApiScopes.Admin);
        Description(b => b.WithTags("Access"));
        Summary(s =>
        {
            s.Summary = "Create an API key";
            s.Description = "The key (ntf_...) is returned once; only its SHA-256 hash is stored.";
        });
    }

    public override async Task HandleAsync(CreateApiKeyRequest req, CancellationToken ct)
    {
        var createdBy = Guid.Parse(User.FindFirst(AccessClaims.ApiKeyId)!.Value);
        var (key, plainKey) = ApiKey.Create(Ids.New(clock), tenant.TenantId, req.Name.Trim(), req.Scopes, req.ExpiresAt, clock.GetUtcNow(), createdBy);
        db.ApiKeys.Add(key);
        audit.Record(tenant.TenantId, "api_key.created", "api_key", key.Id.ToString());
        await db.SaveChangesAsync(ct);
        await Send.ResponseAsync(ApiKeyCreatedResponse.From(key, plainKey), StatusCodes.Status201Created, ct);
    }
}
