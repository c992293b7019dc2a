using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Sending;
using Notify.Modules.Templates.Contracts;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Notify.Modules.Delivery.Providers;

/// <summary>
/// Sends one delivery through a provider chain: the first provider by priority, behind its rate limit and resilience
/// pipeline; on a failure or an open circuit, the next. The outcome is recorded with the provider that sent it and its
/// cost; when every provider failed, the delivery is rescheduled with backoff, or failed (and parked) when nothing can help.
/// </summary>
/// <remarks>
/// The same hand-over as email over SMTP (<see cref="EmailSender"/>): each adapter records the hand-over right before the
/// provider can have the message (an HTTP request's last body byte), so a Worker that dies mid-send neither loses a
/// message nor sends it twice, and a provider that went silent after the whole request went out is not tried again
/// nor failed over from (recorded sent, unconfirmed). A provider that answered "no" clears the hand-over at once.
/// </remarks>
internal sealed class ProviderChainSender(
    ProviderResilience resilience,
    ProviderRateLimiter rateLimiter,
    IEnumerable<IChannelProvider> adapters,
    IOptions<ProviderOptions> options,
    TimeProvider clock,
    ILogger<ProviderChainSender> logger)
{
    private readonly Dictionary<string, IChannelProvider> _adapters = adapters.ToDictionary(a => a.Kind);
    private readonly ProviderOptions _options = options.Value;

    /// <param name="unsubscribe">Email: the one-click unsubscribe link the message carries, when its category has one.</param>
    public async Task SendAsync(
        SendingStore store, ClaimedDelivery delivery, Notification notification, RenderedMessage content, IReadOnlyList<ResolvedProvider> chain,
        Uri? unsubscribe, CancellationToken ct)
    {
        var errors = new List<string>();
        var worthRetrying = false;
        foreach (var provider in chain)
        {
            var outcome = await TryProviderAsync(store, provider, delivery, notification, content, unsubscribe, ct);
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
        SendingStore store, ResolvedProvider provider, ClaimedDelivery delivery, Notification notification, RenderedMessage content, Uri? unsubscribe,
        CancellationToken ct)
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
                    var id = await adapter.SendAsync(new ProviderSend(provider, delivery, content, async c =>
                    {
                        var handOver = await store.BeginHandOverAsync(delivery, c);
                        handedOver = handOver is not null;
                        return handOver;
                    }, unsubscribe), token);
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
            await store.MarkSentUnconfirmedAsync(delivery, notification, delivery.Id.ToString(),
                $"{provider.Config.Name} went silent after the whole request went out: {ex.Message}", CancellationToken.None, (provider.Config.Id, provider.Config.CostPerMessage));
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
