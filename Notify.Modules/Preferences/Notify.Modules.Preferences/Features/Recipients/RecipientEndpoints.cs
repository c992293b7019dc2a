using System.Text.Json;
using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Preferences.Data;
using Notify.Modules.Preferences.Domain;

namespace Notify.Modules.Preferences.Features.Recipients;

public sealed record UpsertRecipientRequest
{
    public string UserId { get; init; } = "";
    public string? Email { get; init; }
    public string? Phone { get; init; }
    public string? Locale { get; init; }
    public string? TimeZone { get; init; }
    public string? WebhookUrl { get; init; }
    public JsonElement? Properties { get; init; }

    internal RecipientProfileFields Fields => new(Email, Phone, Locale, TimeZone, WebhookUrl, Properties);
}

public sealed record DeviceResponse(Guid Id, string Kind, string Token, DateTimeOffset CreatedAt);

public sealed record RecipientResponse(
    string UserId,
    string? Email,
    string? Phone,
    string? Locale,
    string? TimeZone,
    string? WebhookUrl,
    JsonElement? Properties,
    IReadOnlyList<DeviceResponse> Devices,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    internal static RecipientResponse From(Recipient r) => new(
        r.UserId, r.Email, r.Phone, r.Locale, r.TimeZone, r.WebhookUrl, r.Properties?.RootElement.Clone(),
        r.Devices.OrderBy(d => d.Id).Select(d => new DeviceResponse(d.Id, d.Kind, d.Token, d.CreatedAt)).ToList(),
        r.CreatedAt, r.UpdatedAt);
}

public sealed record UserRequest(string UserId);

internal sealed class UpsertRecipientValidator : Validator<UpsertRecipientRequest>
{
    public UpsertRecipientValidator()
    {
        RuleFor(x => x.UserId).Matches(RecipientRules.UserId())
            .WithMessage("userId is your id for the user: 1 to 200 characters, no spaces, '/', '?' or '#'.");
        this.AddProfileRules(x => x.Fields);
    }
}

internal sealed class UpsertRecipientEndpoint(RecipientStore store, ITenantContext tenant) : Endpoint<UpsertRecipientRequest, RecipientResponse>
{
    public override void Configure()
    {
        Put("/v1/users/{userId}");
        Permissions(ApiScopes.PreferencesWrite);
        Description(b => b.WithTags("Recipients"));
        Summary(s =>
        {
            s.Summary = "Create or replace a recipient";
            s.Description = "Keyed by your own user id. Replaces the whole profile (absent fields are cleared); preferences, devices and unsubscribes stay. 201 when created, 200 when replaced.";
        });
    }

    public override async Task HandleAsync(UpsertRecipientRequest req, CancellationToken ct)
    {
        if (req.TimeZone is not null && !RecipientRules.IsTimeZone(req.TimeZone))
        {
            await Send.ResultAsync(ProblemResults.UnprocessableField("timeZone", RecipientRules.UnknownTimeZone(req.TimeZone)));
            return;
        }

        var (_, created) = (await store.UpsertProfilesAsync(tenant.TenantId, [(req.UserId, req.Fields)], ct)).Single();
        var recipient = await store.Db.Recipients.AsNoTracking().Include(r => r.Devices)
            .SingleAsync(r => r.TenantId == tenant.TenantId && r.UserId == req.UserId, ct);
        await Send.ResponseAsync(RecipientResponse.From(recipient), created ? StatusCodes.Status201Created : StatusCodes.Status200OK, ct);
    }
}

internal sealed class GetRecipientEndpoint(PreferencesDbContext db, ITenantContext tenant) : Endpoint<UserRequest, RecipientResponse>
{
    public override void Configure()
    {
        Get("/v1/users/{userId}");
        Permissions(ApiScopes.PreferencesWrite, ApiScopes.NotificationsRead);
        Description(b => b.WithTags("Recipients"));
        Summary(s => s.Summary = "Get a recipient with its push devices");
    }

    public override async Task HandleAsync(UserRequest req, CancellationToken ct)
    {
        var recipient = await db.Recipients.AsNoTracking().Include(r => r.Devices)
            .FirstOrDefaultAsync(r => r.TenantId == tenant.TenantId && r.UserId == req.UserId, ct);
        await (recipient is null
            ? Send.ResultAsync(RecipientNotFound(req.UserId))
            : Send.OkAsync(RecipientResponse.From(recipient), ct));
    }

    public static IResult RecipientNotFound(string userId) => ProblemResults.NotFound($"No recipient with user id '{userId}'.");
}

internal sealed class DeleteRecipientEndpoint(RecipientStore store, ITenantContext tenant) : Endpoint<UserRequest>
{
    public override void Configure()
    {
        Delete("/v1/users/{userId}");
        Permissions(ApiScopes.PreferencesWrite);
        Description(b => b.WithTags("Recipients"));
        Summary(s =>
        {
            s.Summary = "Erase a recipient";
            s.Description = "Deletes the recipient's personal data: addresses, properties, preferences, devices and unsubscribes. Other modules are told to anonymize what they keep about the user. Suppressed addresses stay suppressed.";
        });
    }

    public override async Task HandleAsync(UserRequest req, CancellationToken ct)
    {
        await (await store.EraseAsync(tenant.TenantId, req.UserId, ct)
            ? Send.NoContentAsync(ct)
            : Send.ResultAsync(GetRecipientEndpoint.RecipientNotFound(req.UserId)));
    }
}
