using FastEndpoints;
using FluentValidation;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Preferences.Domain;

namespace Notify.Modules.Preferences.Features.Recipients;

/// <param name="Kind"><c>fcm</c>, <c>apns</c> or <c>webpush</c>.</param>
/// <param name="Token">The device's registration token; for web push, the subscription's endpoint URL.</param>
/// <param name="P256dh">Web push: the subscription's <c>keys.p256dh</c>.</param>
/// <param name="Auth">Web push: the subscription's <c>keys.auth</c>.</param>
public sealed record AddDeviceRequest(string UserId, string Kind, string Token, string? P256dh, string? Auth);

public sealed record DeleteDeviceRequest(string UserId, Guid DeviceId);

internal sealed class AddDeviceValidator : Validator<AddDeviceRequest>
{
    public AddDeviceValidator()
    {
        RuleFor(x => x.Kind).Must(k => DeviceKinds.All.Contains(k)).WithMessage($"kind is one of {string.Join(", ", DeviceKinds.All)}.");
        RuleFor(x => x.Token).NotEmpty().MaximumLength(2000);
        RuleFor(x => x.Token).Must(t => Uri.TryCreate(t, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps)
            .When(x => x.Kind == DeviceKinds.WebPush).WithMessage("For webpush, token is the subscription's https endpoint URL.");
        RuleFor(x => x.P256dh).NotEmpty().MaximumLength(200).When(x => x.Kind == DeviceKinds.WebPush)
            .WithMessage("For webpush, p256dh is the subscription's keys.p256dh.");
        RuleFor(x => x.Auth).NotEmpty().MaximumLength(100).When(x => x.Kind == DeviceKinds.WebPush)
            .WithMessage("For webpush, auth is the subscription's keys.auth.");
    }
}

internal sealed class AddDeviceEndpoint(RecipientStore store, ITenantContext tenant, TimeProvider clock) : Endpoint<AddDeviceRequest, DeviceResponse>
{
    public override void Configure()
    {
        Post("/v1/users/{userId}/devices");
        Permissions(ApiScopes.PreferencesWrite);
        Description(b => b.WithTags("Recipients"));
        Summary(s =>
        {
            s.Summary = "Register a push device";
            s.Description = "Registering a token the recipient already has updates its keys and returns the existing device (200); a new one answers 201.";
        });
    }

    public override async Task HandleAsync(AddDeviceRequest req, CancellationToken ct)
    {
        Device? device = null;
        var isNew = false;
        var changed = await store.ChangeAsync(tenant.TenantId, req.UserId, create: false, recipient =>
        {
            device = recipient.Devices.FirstOrDefault(d => d.Token == req.Token);
            isNew = device is null;
            if (device is null)
            {
                device = new Device
                {
                    Id = Ids.New(clock), TenantId = recipient.TenantId, RecipientId = recipient.Id, Kind = req.Kind, Token = req.Token,
                    CreatedAt = clock.GetUtcNow(),
                };
                // Added explicitly: found only through the navigation, a new row with its id already set would be saved as an UPDATE.
                store.Db.Devices.Add(device);
                recipient.Devices.Add(device);
            }

            device.P256dh = req.P256dh;
            device.Auth = req.Auth;
        }, ct);
        if (changed is null)
        {
            await Send.ResultAsync(GetRecipientEndpoint.RecipientNotFound(req.UserId));
            return;
        }

        await Send.ResponseAsync(new DeviceResponse(device!.Id, device.Kind, device.Token, device.CreatedAt),
            isNew ? StatusCodes.Status201Created : StatusCodes.Status200OK, ct);
    }
}

internal sealed class DeleteDeviceEndpoint(RecipientStore store, ITenantContext tenant) : Endpoint<DeleteDeviceRequest>
{
    public override void Configure()
    {
        Delete("/v1/users/{userId}/devices/{deviceId}");
        Permissions(ApiScopes.PreferencesWrite);
        Description(b => b.WithTags("Recipients"));
        Summary(s => s.Summary = "Remove a push device");
    }

    public override async Task HandleAsync(DeleteDeviceRequest req, CancellationToken ct)
    {
        var removed = false;
        var changed = await store.ChangeAsync(tenant.TenantId, req.UserId, create: false,
            recipient => removed = recipient.Devices.RemoveAll(d => d.Id == req.DeviceId) > 0, ct);
        await (changed is null ? Send.ResultAsync(GetRecipientEndpoint.RecipientNotFound(req.UserId))
            : !removed ? Send.ResultAsync(ProblemResults.NotFound($"User '{req.UserId}' has no device {req.DeviceId}."))
            : Send.NoContentAsync(ct));
    }
}
