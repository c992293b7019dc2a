using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Sending;
using Notify.Modules.Delivery.Telemetry;
using Notify.Modules.Templates.Contracts;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Notify.Modules.Delivery.Providers;

/// <summary>
/// The Worker's SMS, push and webhook channels: claims due deliveries of each channel and sends each through the
/// tenant's provider chain — the first provider by priority, behind its rate limit and resilience pipeline; on a
/// failure or an open circuit, the next. The outcome is recorded with the provider that sent it and its cost.
/// </summary>
/// <remarks>
/// The same hand-over as email (<see cref="EmailSender"/>): each adapter records the hand-over right before the
/// provider can have the message (an HTTP request's last body byte), so a Worker that dies mid-send neither loses a
/// message nor sends it twice, and a provider that went silent after the whole request went out is not tried again
/// nor failed over from (recorded sent, unconfirmed). A provider that answered "no" clears the hand-over at once.
/// </remarks>
internal sealed class ProviderSender(
    IServiceScopeFactory scopes,
    ProviderDirectory directory,
    ProviderResilience resilience,
    ProviderRateLimiter rateLimiter,
    IEnumerable<IChannelProvider> adapters,
    IOptions<ProviderOptions> options,
    TimeProvider clock,
    ILogger<ProviderSender> logger) : BackgroundService
{
    /// <summary>The channels whose messages go through providers.</summary>
    public static readonly string[] ProviderChannels = [Channels.Sms, Channels.Push, Channels.Webhook];

    private readonly Dictionary<string, IChannelProvider> _adapters = adapters.ToDictionary(a => a.Kind);
    private readonly ProviderOptions _options = options.Value;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ProviderChannels.Select(channel => Task.Run(() => SendChannelAsync(channel, stoppingToken), CancellationToken.None)));

    private async Task SendChannelAsync(string channel, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                claimed = await SendDueAsync(channel, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The database was unreachable, say: claimed deliveries come back after their lease.
                logger.LogError(ex, "Sending {Channel} failed; trying again shortly", channel);
            }

            if (claimed < _options.BatchSize)
            {
                try
                {
                    await Task.Delay(_options.PollInterval, clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

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
            await store.MarkSentAsync(delivery, notification, delivery.Id.ToString(),
                $"(unconfirmed: handed to a provider at {handedOverAt:O} by a sender that stopped before its answer was recorded; not sent again)", ct);
            return;
        }

        // A push device is reached only by providers of its kind (an FCM token by FCM).
        var deviceKind = delivery.Device is null ? null : JsonDocument.Parse(delivery.Device).RootElement.GetProperty("kind").GetString();
        var chain = (await directory.ChainAsync(delivery.TenantId, delivery.Channel, ct)).Where(p => ProviderKinds.Serves(p.Config.Kind, deviceKind)).ToList();
        if (chain.Count == 0)
        {
            var what = deviceKind is null ? $"the {delivery.Channel} channel" : $"{deviceKind} push devices";
            await store.MarkFailedAsync(delivery, notification, $"No enabled provider is configured for {what}.", ct);
            return;
        }

        var errors = new List<string>();
        var worthRetrying = false;
        foreach (var provider in chain)
        {
            var outcome = await TryProviderAsync(store, provider, delivery, notification, content, ct);
            switch (outcome)
            {
                case Outcome.Done:
                    return;
                case Outcome.Failed(var error, var transient):
                    errors.Add($"{provider.Config.Name}: {error}");
                    worthRetrying |= transient;
                    break;
            }
        }

        var summary = string.Join(" | ", errors);
        if (!worthRetrying || delivery.Attempts >= _options.MaxAttempts)
        {
            await store.MarkFailedAsync(delivery, notification, worthRetrying ? $"Gave up after {delivery.Attempts} attempts. {summary}" : summary, ct);
            return;
        }

        var retryAt = clock.GetUtcNow() + Backoff(delivery.Attempts);
        await store.RescheduleAsync(delivery, notification, retryAt, summary, ct);
    }

    private abstract record Outcome
    {
        public sealed record Done : Outcome;

        public sealed record Failed(string Error, bool Transient) : Outcome;
    }

    /// <summary>One provider of the chain, through its rate limit and resilience pipeline.</summary>
    private async Task<Outcome> TryProviderAsync(
        SendingStore store, ResolvedProvider provider, ClaimedDelivery delivery, Notification notification, RenderedMessage content, CancellationToken ct)
    {
        if (!_adapters.TryGetValue(provider.Config.Kind, out var adapter))
        {
            return new Outcome.Failed($"no adapter for kind '{provider.Config.Kind}'", Transient: false);
        }

        try
        {
            var messageId = await resilience.For(provider.Config).ExecuteAsync(async token =>
            {
                await rateLimiter.WaitAsync(provider.Config, token);
                var handedOver = false;
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var id = await adapter.SendAsync(new ProviderSend(provider, delivery, content, async c => handedOver = await store.MarkHandedOverAsync(delivery, c)), token);
                    await RecordAttemptAsync(store, provider, delivery, succeeded: true, started);
                    return id;
                }
                catch (Exception ex) when (ex is ProviderException or ProviderInDoubtException)
                {
                    // A recipient the provider rightly refuses is no mark against the provider.
                    await RecordAttemptAsync(store, provider, delivery, succeeded: ex is ProviderException { Failure: ProviderFailure.RecipientInvalid }, started);
                    if (ex is ProviderException && handedOver)
                    {
                        // The provider said no (or the request never went out whole): it does not have the message.
                        await store.ClearHandOverAsync(delivery, CancellationToken.None);
                    }

                    throw;
                }
            }, ct);
            await store.MarkSentAsync(delivery, notification, messageId, $"via {provider.Config.Name}", CancellationToken.None,
                (provider.Config.Id, provider.Config.CostPerMessage));
            return new Outcome.Done();
        }
        catch (HandoverRefusedException)
        {
            logger.LogInformation("{Channel} delivery {DeliveryId} is no longer this sender's; not sending it", delivery.Channel, delivery.Id);
            return new Outcome.Done();
        }
        catch (ProviderInDoubtException ex)
        {
            logger.LogWarning("{Channel} delivery {DeliveryId}: {Provider} went silent after the whole request went out; recording it sent", delivery.Channel, delivery.Id, provider.Config.Name);
            await store.MarkSentAsync(delivery, notification, delivery.Id.ToString(),
                $"(unconfirmed: {provider.Config.Name} went silent after the whole request went out: {ex.Message}; not sent again)", CancellationToken.None,
                (provider.Config.Id, provider.Config.CostPerMessage));
            return new Outcome.Done();
        }
        catch (ProviderException ex) when (ex.Failure == ProviderFailure.RecipientInvalid)
        {
            await store.MarkFailedAsync(delivery, notification, $"{provider.Config.Name} refused the recipient: {ex.Message}", ct);
            return new Outcome.Done();
        }
        catch (ProviderException ex)
        {
            logger.LogInformation("{Channel} delivery {DeliveryId} failed through {Provider} ({Failure}): {Error}", delivery.Channel, delivery.Id, provider.Config.Name, ex.Failure, ex.Message);
            return new Outcome.Failed(ex.Message, ex.Failure == ProviderFailure.Transient);
        }
        catch (BrokenCircuitException)
        {
            return new Outcome.Failed("circuit open (the provider failed too often lately)", Transient: true);
        }
        catch (TimeoutRejectedException)
        {
            return new Outcome.Failed($"no answer within {provider.Config.TimeoutMs} ms", Transient: true);
        }
    }

    private static async Task RecordAttemptAsync(SendingStore store, ResolvedProvider provider, ClaimedDelivery delivery, bool succeeded, long started)
    {
        if (provider.Config.Id != ProviderDirectory.DevelopmentSinkId)
        {
            await store.RecordProviderAttemptAsync(provider.Config.Id, delivery.TenantId, succeeded, (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds, CancellationToken.None);
        }
    }

    /// <summary>Exponential from the base, doubling per attempt, capped, with ±20% jitter.</summary>
    private TimeSpan Backoff(int attempts)
    {
        var exponential = _options.BaseBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(0, attempts - 1));
        var capped = Math.Min(exponential, _options.MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }
}
