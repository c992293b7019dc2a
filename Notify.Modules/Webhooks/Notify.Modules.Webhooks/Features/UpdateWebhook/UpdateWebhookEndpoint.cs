using FastEndpoints;
using FluentValidation;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Webhooks.Data;
using Notify.Modules.Webhooks.Safety;

namespace Notify.Modules.Webhooks.Features.UpdateWebhook;

/// <summary>Fields left out (null) stay as they are; <c>headers</c>, when given, replaces the whole set.</summary>
public sealed record UpdateWebhookRequest : IWebhookFields
{
    public Guid Id { get; init; }
    public string? Url { get; init; }
    public string? Description { get; init; }
    public IReadOnlyList<string>? EventTypes { get; init; }
    public bool? Enabled { get; init; }
    public IReadOnlyDictionary<string, string>? Headers { get; init; }
}

internal sealed class UpdateWebhookValidator : Validator<UpdateWebhookRequest>
{
    public UpdateWebhookValidator() => this.AddEndpointRules();
}

internal sealed class UpdateWebhookEndpoint(WebhooksDbContext db, WebhookUrlGuard urls, ITenantContext tenant, TimeProvider clock)
    : Endpoint<UpdateWebhookRequest, WebhookResponse>
{
    public override void Configure()
    {
        Patch("/v1/webhooks/{id}");
        Permissions(ApiScopes.WebhooksManage);
        Description(b => b.WithTags("Webhooks"));
        Summary(s =>
        {
            s.Summary = "Change a webhook endpoint";
            s.Description = "Only the fields given change. enabled: true re-enables a disabled endpoint and clears its failure count.";
        });
    }

    public override async Task HandleAsync(UpdateWebhookRequest req, CancellationToken ct)
    {
        var endpoint = await db.FindAsync(tenant.TenantId, req.Id, ct);
        if (endpoint is null)
        {
            await Send.ResultAsync(WebhookRules.NotFound(req.Id));
            return;
        }

        if (req.Url is not null && req.Url != endpoint.Url && await urls.CheckAsync(req.Url, ct) is { } unsafeUrl)
        {
            await Send.ResultAsync(WebhookRules.UnsafeUrl(unsafeUrl));
            return;
        }

        var now = clock.GetUtcNow();
        endpoint.Url = req.Url ?? endpoint.Url;
        endpoint.Description = req.Description ?? endpoint.Description;
        endpoint.EventTypes = req.EventTypes?.Distinct(StringComparer.Ordinal).ToArray() ?? endpoint.EventTypes;
        endpoint.Headers = req.Headers?.ToDictionary() ?? endpoint.Headers;
        switch (req.Enabled)
        {
            case true when !endpoint.Enabled:
                endpoint.Enable(now);
                break;
            case false:
                endpoint.Enabled = false;
                break;
        }

        endpoint.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        await Send.OkAsync(WebhookResponse.From(endpoint), ct);
    }
}
