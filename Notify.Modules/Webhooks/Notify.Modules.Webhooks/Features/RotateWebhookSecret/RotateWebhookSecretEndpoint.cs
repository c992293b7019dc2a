using FastEndpoints;
using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Webhooks.Data;

namespace Notify.Modules.Webhooks.Features.RotateWebhookSecret;

public sealed record RotateWebhookSecretRequest(Guid Id);

/// <summary>The new secret (shown this once); the previous one keeps signing alongside until <c>PreviousSecretExpiresAt</c>.</summary>
public sealed record RotateWebhookSecretResponse(string Secret, DateTimeOffset PreviousSecretExpiresAt);

internal sealed class RotateWebhookSecretEndpoint(WebhooksDbContext db, ITenantContext tenant, TimeProvider clock, IOptions<WebhookOptions> options)
    : Endpoint<RotateWebhookSecretRequest, RotateWebhookSecretResponse>
{
    public override void Configure()
    {
        Post("/v1/webhooks/{id}/rotate-secret");
        Permissions(ApiScopes.WebhooksManage);
        Description(b => b.WithTags("Webhooks"));
        Summary(s =>
        {
            s.Summary = "Rotate a webhook endpoint's signing secret";
            s.Description = "Webhooks are signed with the new secret and, for 24 hours, also with the previous one "
                + "(two signatures in webhook-signature), so receivers can switch without missing an event.";
        });
    }

    public override async Task HandleAsync(RotateWebhookSecretRequest req, CancellationToken ct)
    {
        var endpoint = await db.FindAsync(tenant.TenantId, req.Id, ct);
        if (endpoint is null)
        {
            await Send.ResultAsync(WebhookRules.NotFound(req.Id));
            return;
        }

        var now = clock.GetUtcNow();
        endpoint.PreviousSecret = endpoint.Secret;
        endpoint.PreviousSecretExpiresAt = now + options.Value.SecretRotationOverlap;
        endpoint.Secret = WebhookSigner.NewSecret();
        endpoint.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        await Send.OkAsync(new RotateWebhookSecretResponse(endpoint.Secret, endpoint.PreviousSecretExpiresAt.Value), ct);
    }
}
