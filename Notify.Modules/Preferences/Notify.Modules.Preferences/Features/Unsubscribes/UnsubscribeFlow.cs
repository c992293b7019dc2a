using System.Text.Json;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Webhooks.Contracts;

namespace Notify.Modules.Preferences.Features.Unsubscribes;

internal abstract record UnsubscribeOutcome
{
    public sealed record Done(Unsubscribe Unsubscribe) : UnsubscribeOutcome;
    public sealed record Mandatory : UnsubscribeOutcome;
    public sealed record NoRecipient : UnsubscribeOutcome;
}

/// <summary>Unsubscribing, shared by the API, the unsubscribe page and the one-click POST; tells other modules through the outbox.</summary>
internal sealed class UnsubscribeFlow(RecipientStore store, TimeProvider clock)
{
    public static string MandatoryMessage(string category) =>
        $"Recipients cannot unsubscribe from '{category}': its messages (password resets, receipts, security alerts) must always arrive.";

    public async Task<UnsubscribeOutcome> UnsubscribeAsync(
        Guid tenantId, string userId, string category, string reason, string? feedback, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        if (MandatoryCategories.Contains(category))
        {
            return new UnsubscribeOutcome.Mandatory();
        }

        Unsubscribe? unsubscribe = null;
        var changed = await store.ChangeAsync(tenantId, userId, create: false, recipient =>
        {
            unsubscribe = recipient.Unsubscribes.FirstOrDefault(u => u.Category == category);
            if (unsubscribe is null)
            {
                unsubscribe = new Unsubscribe { Id = Ids.New(clock), TenantId = tenantId, RecipientId = recipient.Id, Category = category, Reason = reason };
                // Added explicitly: found only through the navigation, a new row with its id already set would be saved as an UPDATE.
                store.Db.Unsubscribes.Add(unsubscribe);
                recipient.Unsubscribes.Add(unsubscribe);
            }

            unsubscribe.Reason = reason;
            unsubscribe.Feedback = feedback ?? unsubscribe.Feedback;
            unsubscribe.ExpiresAt = expiresAt;
            unsubscribe.CreatedAt = clock.GetUtcNow();
            store.Db.AddIntegrationEvent(
                new RecipientUnsubscribedIntegrationEvent(tenantId, userId, category, reason, expiresAt, unsubscribe.Feedback), tenantId, clock);
            // The tenant's own systems hear of it through their webhooks, from the same transaction.
            store.Db.AddIntegrationEvent(new WebhookEventIntegrationEvent(WebhookEventTypes.RecipientUnsubscribed, JsonSerializer.SerializeToElement(
                new { userId, category, reason, expiresAt, feedback = unsubscribe.Feedback }, JsonSerializerOptions.Web)), tenantId, clock);
        }, cancellationToken);
        return changed is null ? new UnsubscribeOutcome.NoRecipient() : new UnsubscribeOutcome.Done(unsubscribe!);
    }

    public static UnsubscribeResponse ToResponse(Unsubscribe u) => new(u.Category, u.Reason, u.Feedback, u.ExpiresAt, u.CreatedAt);
}
