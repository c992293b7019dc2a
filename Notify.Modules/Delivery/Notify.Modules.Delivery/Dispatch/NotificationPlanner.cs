using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Delivery.Contracts;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Features.SendNotification;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Delivery.Dispatch;

/// <summary>
/// Worker side of a requested notification (DESIGN §5 step 2): asks Preferences for the plan per channel (preferences,
/// quiet hours, digests, addresses), counts frequency caps, renders each allowed channel through Templates, and
/// stores one queued delivery per channel with its rendered content; skipped channels get a timeline row with the reason.
/// Runs once per message (the consumer's inbox) and only for a notification still accepted (state check), in the
/// consumer's transaction, so a crash leaves either everything or nothing.
/// </summary>
/// <remarks>
/// Sending is not here: a channel sender (email: <see cref="Sending.EmailSender"/>; in-app, … not built yet) claims
/// deliveries that are <c>queued</c> with <c>deliver_at</c> null or past through <see cref="Sending.SendingStore"/>, sends
/// <c>content</c>, records attempts, and advances the delivery and notification statuses.
/// </remarks>
internal sealed class NotificationPlanner(
    DeliveryDbContext db,
    NotificationStore store,
    IRecipientPreferences preferences,
    ITemplates templates,
    TimeProvider clock,
    ILogger<NotificationPlanner> logger)
    : IIntegrationEventHandler<NotificationRequestedIntegrationEvent>, IIntegrationEventGroupPreparation<NotificationRequestedIntegrationEvent>
{
    public const string Queue = "delivery.plan-notification";

    /// <summary>
    /// Notifications planned at once per priority queue: planning is mostly waiting on PostgreSQL, Redis and Templates,
    /// and each notification is planned once (inbox) under its own row lock, so order between them does not matter.
    /// </summary>
    public const int Concurrency = 8;

    private Dictionary<Guid, Notification>? _started;

    /// <summary>Claims the whole group for planning in one statement (what <see cref="HandleAsync"/> would do for each).</summary>
    public async Task PrepareAsync(IReadOnlyList<NotificationRequestedIntegrationEvent> events, CancellationToken ct) =>
        _started = await store.StartProcessingManyAsync(events, ct);

    public async Task HandleAsync(NotificationRequestedIntegrationEvent requested, IntegrationEventContext context, CancellationToken ct)
    {
        // Claims it for planning: moves it to processing and reads it back in one round trip (or took it from the group's
        // claim). The row lock taken here makes a concurrent cancel wait and then see the deliveries.
        var started = _started ?? await store.StartProcessingManyAsync([requested], ct);
        var notification = started.GetValueOrDefault(requested.NotificationId);
        if (notification is null)
        {
            // Cancelled or already planned first, or a scheduled send whose time has not come (the scheduled-release job,
            // Scheduling/ScheduledRelease, requests it again at its time); only a missing row is worth a warning.
            if (!await db.Notifications.AnyAsync(
                    n => n.Id == requested.NotificationId && n.CreatedAt == requested.CreatedAt && n.TenantId == requested.TenantId, ct))
            {
                logger.LogWarning("Notification {NotificationId} of a requested event does not exist", requested.NotificationId);
            }

            return;
        }

        var priority = SendChecks.Priorities[notification.Priority];
        var inline = notification.InlineRecipient?.Deserialize<InlineRecipient>(JsonSerializerOptions.Web);
        var plan = await preferences.PlanAsync(
            new PlanRequest(notification.TenantId, notification.UserId, notification.Category, priority, notification.Channels, inline), ct);
        if (plan is null)
        {
            db.Events.Add(store.NewEvent(notification, TimelineEvents.Skipped, $"Recipient '{notification.UserId}' no longer exists."));
            await store.AdvanceAsync(notification, NotificationStatus.Skipped, ct);
            return;
        }

        var data = notification.Data?.RootElement.Clone() ?? JsonSerializer.SerializeToElement(new { });
        var queued = 0;
        foreach (var channel in plan.Channels)
        {
            if (await SkipReasonAsync(notification, channel, priority, ct) is { } reason)
            {
                db.Events.Add(store.NewEvent(notification, TimelineEvents.ChannelSkipped, reason, channel.Channel));
                continue;
            }

            RenderedMessage message;
            try
            {
                var unsubscribe = channel.Channel == Channels.Email && notification.UserId is { } userId && !MandatoryCategories.Contains(notification.Category)
                    ? preferences.LinksFor(notification.TenantId, userId, notification.Category).Unsubscribe.ToString()
                    : null;
                message = await templates.RenderAsync(new RenderRequest(
                    notification.TenantId, notification.TemplateKey, channel.Channel, plan.Locale ?? "", data, plan.TimeZone, unsubscribe), ct);
            }
            catch (TemplateRenderException ex)
            {
                db.Events.Add(store.NewEvent(notification, TimelineEvents.RenderFailed, ex.Message, channel.Channel));
                continue;
            }

            // Push goes to each of the recipient's devices; every other channel to its one address.
            var targets = channel.Channel == Channels.Push
                ? channel.Devices.Select(d => (Address: (string?)d.Token, Device: (string?)JsonSerializer.Serialize(d, JsonSerializerOptions.Web))).ToList()
                : [(channel.Address, null)];
            if (targets.Count == 0)
            {
                db.Events.Add(store.NewEvent(notification, TimelineEvents.ChannelSkipped, "no_push_device: the recipient has no push device registered.", channel.Channel));
                continue;
            }

            foreach (var (address, device) in targets)
            {
                var now = clock.GetUtcNow();
                var delivery = new ChannelDelivery
                {
                    Id = Ids.New(clock),
                    TenantId = notification.TenantId,
                    NotificationId = notification.Id,
                    Channel = channel.Channel,
                    Priority = (short)priority,
                    Status = DeliveryStatus.Queued,
                    Address = address,
                    Device = device,
                    DeliverAt = channel.Digest?.NextAt ?? channel.DeliverAt,
                    Content = JsonSerializer.Serialize(message, JsonSerializerOptions.Web),
                    TraceParent = System.Diagnostics.Activity.Current?.Id,
                    CreatedAt = now,
                    UpdatedAt = now,
                };
                db.Deliveries.Add(delivery);
                db.Events.Add(store.NewEvent(notification, TimelineEvents.Queued, QueuedDetail(channel), delivery.Channel, delivery.Id));
            }

            queued++;
        }

        if (queued == 0)
        {
            db.Events.Add(store.NewEvent(notification, TimelineEvents.Skipped, "No channel is left to carry it."));
            await store.AdvanceAsync(notification, NotificationStatus.Skipped, ct);
        }
    }

    /// <summary>Why the channel does not carry this notification, or null when it does (and the frequency cap counted it).</summary>
    private async Task<string?> SkipReasonAsync(Notification notification, ChannelPlan channel, NotificationPriority priority, CancellationToken ct)
    {
        if (!channel.Allowed)
        {
            return channel.Reason;
        }

        // Caps count messages going out now; a delayed or digested message is counted when it is released.
        if (notification.UserId is { } userId && channel.DeliverAt is null && channel.Digest is null)
        {
            var cap = await preferences.TryConsumeFrequencyCapAsync(
                new CapRequest(notification.TenantId, userId, channel.Channel, notification.Category, priority), ct);
            if (!cap.Allowed)
            {
                return $"frequency_cap: {cap.Cap} reached until {cap.RetryAfter:O}";
            }
        }

        return null;
    }

    private static string? QueuedDetail(ChannelPlan channel) =>
        // Digest batching is not built yet: until it is, the message is held to the digest's time and goes out alone.
        channel.Digest is { } digest ? $"Held for the {digest.Frequency} digest at {digest.NextAt:O}."
        : channel.DeliverAt is { } at ? $"Delayed by quiet or work hours until {at:O}."
        : null;
}
