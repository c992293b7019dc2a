using System.Text.Json;
using FastEndpoints;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Delivery.Features.SendNotification;

internal sealed class SendNotificationEndpoint(
    NotificationStore store, AcceptQueue queue, ITemplates templates, IRecipientPreferences preferences, ITenantContext tenant, TimeProvider clock)
    : Endpoint<SendNotificationRequest, SendNotificationResponse>
{
    public override void Configure()
    {
        Post("/v1/notifications");
        Permissions(ApiScopes.NotificationsSend);
        Description(b => b.WithTags("Notifications"));
        Summary(s =>
        {
            s.Summary = "Send a template to recipients";
            s.Description = "Checks everything up front (template published, required variables, recipients known or complete) and lists every problem; " +
                "otherwise stores one notification per recipient and answers 202 with their ids. With an Idempotency-Key header, a repeat of the " +
                "same request gets the same answer and creates nothing; the same key with a different request is a 409.";
        });
    }

    public override async Task HandleAsync(SendNotificationRequest req, CancellationToken ct)
    {
        var tenantId = tenant.TenantId;
        // Only a send with a key is compared with its repeats: the others (most sends) skip hashing the request.
        var requestHash = req.IdempotencyKey is null ? null : IdempotentRequests.Hash(req with { IdempotencyKey = null });
        if (req.IdempotencyKey is { } key && await store.FindIdempotencyAsync(tenantId, key, ct) is { } earlier)
        {
            await ReplayAsync(earlier, requestHash!, ct);
            return;
        }

        var (send, status) = await SendChecks.CheckAsync(req, tenantId, templates, preferences, clock, ValidationFailures, ct);
        if (send is null)
        {
            await Send.ErrorsAsync(status, ct);
            return;
        }

        var notifications = req.Recipients!.Select(r => NewNotification(tenantId, req, r, send, clock)).ToList();
        var response = new SendNotificationResponse(notifications.Select((n, i) => new AcceptedNotification(
            n.Id, req.Recipients![i].UserId, req.Recipients[i].Email, req.Recipients[i].Phone, n.Status)).ToList());
        // Committed together with concurrent sends (group commit), with the answer repeats of its key get.
        var idempotency = req.IdempotencyKey is null ? null
            : store.NewIdempotencyRecord(tenantId, req.IdempotencyKey, requestHash!, StatusCodes.Status202Accepted, JsonSerializer.Serialize(response, JsonSerializerOptions.Web));
        if (!await queue.StoreAsync(new AcceptedSend(AcceptRows.Of(notifications, clock), idempotency)))
        {
            // A concurrent repeat won the key.
            await ReplayAsync(await store.WinnerAsync(idempotency!, ct), requestHash!, ct);
            return;
        }

        await Send.ResponseAsync(response, StatusCodes.Status202Accepted, ct);
    }

    private async Task ReplayAsync(IdempotencyRecord record, string requestHash, CancellationToken ct)
    {
        if (IdempotentRequests.ConflictOf(record, requestHash) is { } conflict)
        {
            await Send.ResultAsync(conflict);
            return;
        }

        await Send.ResponseAsync(IdempotentRequests.OriginalResponse<SendNotificationResponse>(record), record.StatusCode, ct);
    }

    /// <summary>The notification of one recipient of a checked send (the batch endpoint builds its rows the same way).</summary>
    internal static Notification NewNotification(Guid tenantId, SendNotificationRequest req, SendRecipient recipient, CheckedSend send, TimeProvider clock)
    {
        var (id, createdAt) = UuidV7.New(clock);
        var scheduled = req.ScheduledFor is { } at && at > createdAt;
        return new Notification
        {
            Id = id,
            TenantId = tenantId,
            TemplateKey = send.Template.Key,
            TemplateVersion = send.Template.Version,
            Category = send.Category,
            Priority = SendChecks.Name(send.Priority),
            UserId = recipient.UserId,
            InlineRecipient = recipient.UserId is null
                ? JsonSerializer.SerializeToDocument(
                    new InlineRecipient(recipient.Email?.ToLowerInvariant(), recipient.Phone, recipient.Locale, recipient.TimeZone), JsonSerializerOptions.Web)
                : null,
            Data = req.Data is { ValueKind: JsonValueKind.Object } data ? JsonDocument.Parse(data.GetRawText()) : null,
            Metadata = req.Metadata is { ValueKind: JsonValueKind.Object } metadata ? JsonDocument.Parse(metadata.GetRawText()) : null,
            Channels = [.. send.Channels],
            Status = scheduled ? NotificationStatus.Scheduled : NotificationStatus.Accepted,
            ScheduledFor = req.ScheduledFor,
            ReleaseAt = scheduled ? req.ScheduledFor : null,
            IdempotencyKey = req.IdempotencyKey,
            CreatedAt = createdAt,
            UpdatedAt = createdAt,
        };
    }

}
