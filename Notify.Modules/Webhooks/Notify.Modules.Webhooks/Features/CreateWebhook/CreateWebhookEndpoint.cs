using FastEndpoints;
using FluentValidation;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Webhooks.Data;
using Notify.Modules.Webhooks.Domain;
using Notify.Modules.Webhooks.Safety;

namespace Notify.Modules.Webhooks.Features.CreateWebhook;

public sealed record CreateWebhookRequest(
    string Url,
    string? Description,
    IReadOnlyList<string> EventTypes,
    bool? Enabled,
    IReadOnlyDictionary<string, string>? Headers) : IWebhookFields;

/// <summary>The new endpoint and its signing secret, shown this once.</summary>
public sealed record CreateWebhookResponse(WebhookResponse Webhook, string Secret);

internal sealed class CreateWebhookValidator : Validator<CreateWebhookRequest>
{
    public CreateWebhookValidator()
    {
        RuleFor(x => x.Url).NotEmpty();
        RuleFor(x => x.EventTypes).NotNull().WithMessage("Give at least one event type, a pattern such as notification.* or * for all.");
        this.AddEndpointRules();
    }
}

internal sealed class CreateWebhookEndpoint(WebhooksDbContext db, WebhookUrlGuard urls, ITenantContext tenant, TimeProvider clock)
    : Endpoint<CreateWebhookRequest, CreateWebhookResponse>
{
    public override void Configure()
    {
        Post("/v1/webhooks");
        Permissions(ApiScopes.WebhooksManage);
        Description(b => b.WithTags("Webhooks"));
        Summary(s =>
        {
            s.Summary = "Register a webhook endpoint";
            s.Description = "Events matching eventTypes (names, prefix.* patterns or *) are POSTed to url, signed per Standard Webhooks "
                + "with the returned secret (shown only now). URLs resolving to private, loopback, link-local or metadata addresses are refused.";
        });
    }

    public override async Task HandleAsync(CreateWebhookRequest req, CancellationToken ct)
    {
        if (await urls.CheckAsync(req.Url, ct) is { } unsafeUrl)
        {
            await Send.ResultAsync(WebhookRules.UnsafeUrl(unsafeUrl));
            return;
        }

        var now = clock.GetUtcNow();
        var endpoint = new WebhookEndpoint
        {
            Id = Ids.New(clock),
            TenantId = tenant.TenantId,
            Url = req.Url,
            Description = req.Description,
            EventTypes = req.EventTypes.Distinct(StringComparer.Ordinal).ToArray(),
            Enabled = req.Enabled ?? true,
            Headers = req.Headers?.ToDictionary() ?? [],
            Secret = WebhookSigner.NewSecret(),
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Endpoints.Add(endpoint);
        await db.SaveChangesAsync(ct);
        await Send.CreatedAtAsync<GetWebhook.GetWebhookEndpoint>(
            new { id = endpoint.Id }, new CreateWebhookResponse(WebhookResponse.From(endpoint), endpoint.Secret), cancellation: ct);
    }
}
