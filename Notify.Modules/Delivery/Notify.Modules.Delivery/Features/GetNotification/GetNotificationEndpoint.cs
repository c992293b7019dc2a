using System.Text.Json;
using FastEndpoints;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Delivery.Domain;

namespace Notify.Modules.Delivery.Features.GetNotification;

public sealed record NotificationRequest(Guid Id);

/// <summary>A notification with its deliveries (one per channel) and its timeline, oldest first.</summary>
public sealed record NotificationDetails(
    Guid Id,
    string Status,
    string TemplateKey,
    int TemplateVersion,
    string Category,
    string Priority,
    string? UserId,
    JsonElement? Recipient,
    IReadOnlyList<string> Channels,
    JsonElement? Data,
    JsonElement? Metadata,
    DateTimeOffset? ScheduledFor,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<DeliveryDetails> Deliveries,
    IReadOnlyList<TimelineEntry> Timeline)
{
    internal static NotificationDetails From(NotificationWithDetails found)
    {
        var (n, deliveries, events) = found;
        return new(
            n.Id, n.Status, n.TemplateKey, n.TemplateVersion, n.Category, n.Priority, n.UserId, n.InlineRecipient?.RootElement.Clone(),
            n.Channels, n.Data?.RootElement.Clone(), n.Metadata?.RootElement.Clone(), n.ScheduledFor, n.CreatedAt, n.UpdatedAt,
            deliveries.Select(d => new DeliveryDetails(d.Id, d.Channel, d.Status, d.Address, d.ProviderMessageId, d.DeliverAt, d.Attempts, d.CreatedAt, d.UpdatedAt)).ToList(),
            events.Select(e => new TimelineEntry(e.Type, e.Channel, e.DeliveryId, e.Detail, e.CreatedAt)).ToList());
    }
}

public sealed record DeliveryDetails(
    Guid Id, string Channel, string Status, string? Address, string? ProviderMessageId, DateTimeOffset? DeliverAt, int Attempts,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record TimelineEntry(string Type, string? Channel, Guid? DeliveryId, string? Detail, DateTimeOffset At);

internal sealed class GetNotificationEndpoint(NotificationStore store, ITenantContext tenant) : Endpoint<NotificationRequest, NotificationDetails>
{
    public override void Configure()
    {
        Get("/v1/notifications/{id}");
        Permissions(ApiScopes.NotificationsRead);
        Description(b => b.WithTags("Notifications"));
        Summary(s => s.Summary = "Get a notification with its deliveries and event timeline");
    }

    public override async Task HandleAsync(NotificationRequest req, CancellationToken ct)
    {
        if (await store.FindWithDetailsAsync(tenant.TenantId, req.Id, ct) is not { } found)
        {
            await Send.ResultAsync(NotFound(req.Id));
            return;
        }

        await Send.OkAsync(NotificationDetails.From(found), ct);
    }

    public static IResult NotFound(Guid id) => ProblemResults.NotFound($"No notification with id '{id}'.");
}
