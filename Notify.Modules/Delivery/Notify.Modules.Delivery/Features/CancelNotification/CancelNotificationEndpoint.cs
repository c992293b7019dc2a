using FastEndpoints;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Features.GetNotification;

namespace Notify.Modules.Delivery.Features.CancelNotification;

internal sealed class CancelNotificationEndpoint(NotificationStore store, ITenantContext tenant) : Endpoint<NotificationRequest, NotificationDetails>
{
    public override void Configure()
    {
        Post("/v1/notifications/{id}/cancel");
        // Issue 5 lists cancel with the read-and-control endpoints; a key that may send may also call it back.
        Permissions(ApiScopes.NotificationsRead, ApiScopes.NotificationsSend);
        Description(b => b.WithTags("Notifications"));
        Summary(s =>
        {
            s.Summary = "Cancel a notification before it is sent";
            s.Description = "Cancels the notification and its unsent deliveries. Cancelling a cancelled notification changes nothing; " +
                "once it was sent (or failed, or every channel was skipped) the answer is a 409 that says why.";
        });
    }

    public override async Task HandleAsync(NotificationRequest req, CancellationToken ct)
    {
        if (await store.FindAsync(tenant.TenantId, req.Id, ct) is not { } notification)
        {
            await Send.ResultAsync(GetNotificationEndpoint.NotFound(req.Id));
            return;
        }

        if (notification.Status != NotificationStatus.Cancelled && !await store.CancelAsync(notification, ct))
        {
            // Moved on between the read and the update (or before it): read again to say where it is now.
            notification = await store.FindAsync(tenant.TenantId, req.Id, ct) ?? notification;
            if (notification.Status != NotificationStatus.Cancelled)
            {
                await Send.ResultAsync(ProblemResults.Conflict(NotificationStatus.IsCancellable(notification.Status)
                    ? $"Notification '{req.Id}' cannot be cancelled: one of its messages is already being handed to the provider."
                    : $"Notification '{req.Id}' cannot be cancelled: it is already {notification.Status} (since {notification.UpdatedAt:O})."));
                return;
            }
        }

        var found = await store.FindWithDetailsAsync(tenant.TenantId, req.Id, ct);
        await Send.OkAsync(NotificationDetails.From(found!), ct);
    }
}
