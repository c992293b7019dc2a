using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Sending;
using Notify.Modules.Delivery.Telemetry;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Delivery.Providers;

/// <summary>
/// The Worker's SMS, push and webhook channels: claims due deliveries of each channel and sends each through the
/// tenant's provider chain (<see cref="ProviderChainSender"/>). A delivery a sender died handing over is recorded
/// sent, unconfirmed, and not sent again.
/// </summary>
internal sealed class ProviderSender(
    IServiceScopeFactory scopes,
    ProviderDirectory directory,
    ProviderChainSender chainSender,
    IOptions<ProviderOptions> options,
    TimeProvider clock,
    ILogger<ProviderSender> logger) : BackgroundService
{
    /// <summary>The channels whose messages go through providers.</summary>
    public static readonly string[] ProviderChannels = [Channels.Sms, Channels.Push, Channels.Webhook];

    private readonly ProviderOptions _options = options.Value;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ProviderChannels.Select(channel => Task.Run(() => SendChannelAsync(channel, stoppingToken), CancellationToken.None)));

    private Task SendChannelAsync(string channel, CancellationToken stoppingToken) =>
        SenderLoop.RunAsync(ct => SendDueAsync(channel, ct), _options.BatchSize, _options.PollInterval, clock, logger, $"Sending {channel} failed", stoppingToken);

    /// <summary>Claims one batch of the channel's due deliveries and sends them, several at once; the number claimed.</summary>
    internal async Task<int> SendDueAsync(string channel, CancellationToken ct)
    {
        List<ClaimedDelivery> batch;
        Dictionary<Guid, Notification> notifications;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var store = scope.ServiceProvider.GetRequiredService<SendingStore>();
            batch = await store.ClaimAsync(channel, _options.BatchSize, _options.Lease, ct);
            notifications = await store.NotificationsOfAsync(batch, ct);
        }

        await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (delivery, token) =>
        {
            using var activity = DeliveryTelemetry.StartSend($"{channel} send", delivery.Id, delivery.NotificationId, delivery.Channel, delivery.TraceParent);
            await using var scope = scopes.CreateAsyncScope();
            await SendAsync(scope.ServiceProvider.GetRequiredService<SendingStore>(), delivery, notifications.GetValueOrDefault(delivery.NotificationId), token);
        });
        return batch.Count;
    }

    private async Task SendAsync(SendingStore store, ClaimedDelivery delivery, Notification? notification, CancellationToken ct)
    {
        var content = delivery.Content is null ? null : JsonSerializer.Deserialize<RenderedMessage>(delivery.Content, JsonSerializerOptions.Web);
        if (notification is null || content is null)
        {
            await store.MarkFailedAsync(delivery, notification, "The delivery has no notification or content to send.", ct);
            return;
        }

        if (delivery.HandedOverAt is { } handedOverAt)
        {
            // A sender died after handing it over: the provider may have it, so it is not sent again.
            await store.MarkSentUnconfirmedAsync(delivery, notification, delivery.Id.ToString(), SendingStore.HandedOverByStoppedSender(handedOverAt, "a provider"), ct);
            return;
        }

        // A push device is reached only by providers of its kind (an FCM token by FCM).
        using var device = delivery.Device is null ? null : JsonDocument.Parse(delivery.Device);
        var deviceKind = device?.RootElement.GetProperty("kind").GetString();
        var chain = (await directory.ChainAsync(delivery.TenantId, delivery.Channel, ct)).Where(p => ProviderKinds.Serves(p.Config.Kind, deviceKind)).ToList();
        if (chain.Count == 0)
        {
            var what = deviceKind is null ? $"the {delivery.Channel} channel" : $"{deviceKind} push devices";
            await store.MarkFailedAsync(delivery, notification, $"No enabled provider is configured for {what}.", ct);
            return;
        }

        await chainSender.SendAsync(store, delivery, notification, content, chain, unsubscribe: null, ct);
    }
}
