using System.Text.Json;
using FastEndpoints;
using FluentValidation.Results;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Features.SendNotification;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Delivery.Features.SendNotificationBatch;

/// <summary>
/// Many sends in one call. Each is checked with the single send's rules (templates looked up once per key, recipients
/// from the preferences cache); the valid ones are stored together in one transaction by binary COPY, the invalid ones
/// are reported with their problems. The answer is <c>200</c> with a result per send: a batch is one HTTP exchange
/// that succeeded as a whole even when some of its sends did not, and <c>207 Multi-Status</c> is WebDAV's, with XML
/// semantics clients do not expect from a JSON API.
/// </summary>
internal sealed class SendNotificationBatchEndpoint(
    NotificationStore store, ITemplates templates, IRecipientPreferences preferences, ITenantContext tenant, TimeProvider clock)
    : Endpoint<SendNotificationBatchRequest, SendNotificationBatchResponse>
{
    public const int MaxSends = 1000;

    /// <summary>Bounds one transaction: 1,000 sends of 100 recipients each would be 100,000 rows.</summary>
    public const int MaxNotifications = 10_000;

    public override void Configure()
    {
        Post("/v1/notifications/batch");
        Permissions(ApiScopes.NotificationsSend);
        Description(b => b.WithTags("Notifications"));
        Summary(s =>
        {
            s.Summary = "Send up to 1,000 sends in one call";
            s.Description = "Each item has the shape of the POST /v1/notifications body and is checked with the same rules. Valid items are stored " +
                "(all of them in one transaction), invalid ones are not; the answer is 200 with one result per item: status 202 and its " +
                "notifications, or 400/422 and its errors by field. With an Idempotency-Key header, a repeat of the same batch gets the same " +
                $"answer; the same key with a different batch is a 409. At most {MaxSends} items and {MaxNotifications} recipients in all.";
        });
    }

    public override async Task HandleAsync(SendNotificationBatchRequest req, CancellationToken ct)
    {
        if (!CheckEnvelope(req))
        {
            await Send.ErrorsAsync(StatusCodes.Status400BadRequest, ct);
            return;
        }

        var tenantId = tenant.TenantId;
        // Only a batch with a key is compared with its repeats and keeps its answer: the others skip hashing the request
        // and serializing the answer an extra time (each about as large as the batch).
        var requestHash = req.IdempotencyKey is null ? null : IdempotentRequests.Hash(req with { IdempotencyKey = null });
        if (req.IdempotencyKey is { } key && await store.FindIdempotencyAsync(tenantId, key, ct) is { } earlier)
        {
            await ReplayAsync(earlier, requestHash!, ct);
            return;
        }

        var lookups = new MemoizedTemplates(templates);
        var results = new BatchSendResult[req.Notifications!.Count];
        var notifications = new List<Notification>();
        for (var i = 0; i < results.Length; i++)
        {
            var item = req.Notifications[i];
            var errors = new List<ValidationFailure>();
            if (item.IdempotencyKey is not null)
            {
                errors.Add(new ValidationFailure("idempotencyKey", "Items carry no idempotency key; send the Idempotency-Key header for the whole batch."));
            }

            var (send, status) = await SendChecks.CheckAsync(item, tenantId, lookups, preferences, clock, errors, ct);
            if (send is null)
            {
                // An idempotency key on an item is a shape problem, which SendChecks did not count.
                results[i] = new BatchSendResult(i, item.IdempotencyKey is null ? status : StatusCodes.Status400BadRequest, null,
                    errors.GroupBy(e => e.PropertyName).ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).ToArray()));
                continue;
            }

            var recipients = item.Recipients!;
            var stored = recipients.Select(r => SendNotificationEndpoint.NewNotification(tenantId, item, r, send, clock)).ToList();
            notifications.AddRange(stored);
            results[i] = new BatchSendResult(i, StatusCodes.Status202Accepted,
                stored.Select((n, r) => new AcceptedNotification(n.Id, recipients[r].UserId, recipients[r].Email, recipients[r].Phone, n.Status)).ToList(),
                null);
        }

        var response = new SendNotificationBatchResponse(results);
        if (notifications.Count > 0 || req.IdempotencyKey is not null)
        {
            var idempotency = req.IdempotencyKey is null ? null
                : store.NewIdempotencyRecord(tenantId, req.IdempotencyKey, requestHash!, StatusCodes.Status200OK, JsonSerializer.Serialize(response, JsonSerializerOptions.Web));
            if (await store.AcceptAsync(notifications, idempotency, ct) is AcceptOutcome.Replayed replayed)
            {
                // A concurrent repeat won the key.
                await ReplayAsync(replayed.Record, requestHash!, ct);
                return;
            }
        }

        await Send.OkAsync(response, ct);
    }

    private async Task ReplayAsync(IdempotencyRecord record, string requestHash, CancellationToken ct)
    {
        if (IdempotentRequests.ConflictOf(record, requestHash) is { } conflict)
        {
            await Send.ResultAsync(conflict);
            return;
        }

        await Send.ResponseAsync(IdempotentRequests.OriginalResponse<SendNotificationBatchResponse>(record), record.StatusCode, ct);
    }

    private bool CheckEnvelope(SendNotificationBatchRequest req)
    {
        if (req.IdempotencyKey is not null && !SendChecks.IsIdempotencyKey(req.IdempotencyKey))
        {
            Problem("Idempotency-Key", "The Idempotency-Key header is 1 to 200 printable ASCII characters.");
        }

        if (req.Notifications is not { Count: > 0 } items)
        {
            Problem("notifications", "notifications needs at least one send.");
            return false;
        }

        if (items.Count > MaxSends)
        {
            Problem("notifications", $"notifications has {items.Count} sends; at most {MaxSends} are allowed per batch.");
        }
        else if (items.Any(item => item is null))
        {
            Problem("notifications", "notifications must not contain null items.");
        }
        else if (items.Sum(item => item.Recipients?.Count ?? 0) is var total && total > MaxNotifications)
        {
            Problem("notifications", $"The batch has {total} recipients in all; at most {MaxNotifications} are allowed per batch.");
        }

        return ValidationFailures.Count == 0;
    }

    private void Problem(string field, string message) => ValidationFailures.Add(new ValidationFailure(field, message));


    /// <summary>Looks each template key up once per batch; rendering is not used here.</summary>
    private sealed class MemoizedTemplates(ITemplates inner) : ITemplates
    {
        private readonly Dictionary<string, Task<PublishedTemplate?>> _found = new(StringComparer.Ordinal);

        public Task<PublishedTemplate?> FindPublishedAsync(Guid tenantId, string key, CancellationToken cancellationToken)
        {
            if (!_found.TryGetValue(key, out var found))
            {
                _found[key] = found = inner.FindPublishedAsync(tenantId, key, cancellationToken);
            }

            return found;
        }

        public Task<RenderedMessage> RenderAsync(RenderRequest request, CancellationToken cancellationToken) => inner.RenderAsync(request, cancellationToken);
    }
}
