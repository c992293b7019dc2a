using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Notify.Modules.Delivery.Data;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using StackExchange.Redis;

namespace Notify.Modules.Delivery.Providers;

/// <summary>
/// A tenant's enabled providers of a channel in priority order, with their credentials decrypted; read again after
/// <see cref="ProviderOptions.ConfigurationCache"/>. For the provider channels, with none configured and
/// <see cref="ProviderOptions.DevelopmentSink"/> on, the built-in development sink.
/// </summary>
internal sealed class ProviderDirectory(IServiceScopeFactory scopes, ProviderCredentials credentials, IOptions<ProviderOptions> options, TimeProvider clock)
{
    /// <summary>The provider id the built-in development sink records its messages under.</summary>
    public static readonly Guid DevelopmentSinkId = Guid.Empty;

    private readonly ConcurrentDictionary<(Guid Tenant, string Channel), (DateTimeOffset ReadAt, IReadOnlyList<ResolvedProvider> Chain)> _chains = new();

    public async Task<IReadOnlyList<ResolvedProvider>> ChainAsync(Guid tenantId, string channel, CancellationToken ct)
    {
        var chain = await ConfiguredAsync(tenantId, channel, ct);
        return chain.Count == 0 && options.Value.DevelopmentSink ? [DevelopmentSink(tenantId, channel)] : chain;
    }

    /// <summary>The tenant's own providers of the channel only (email falls back to the SMTP server, not to the sink).</summary>
    public async Task<IReadOnlyList<ResolvedProvider>> ConfiguredAsync(Guid tenantId, string channel, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (_chains.TryGetValue((tenantId, channel), out var cached) && now - cached.ReadAt < options.Value.ConfigurationCache)
        {
            return cached.Chain;
        }

        await using var scope = scopes.CreateAsyncScope();
        var providers = await scope.ServiceProvider.GetRequiredService<DeliveryDbContext>().Providers.AsNoTracking()
            .Where(p => p.TenantId == tenantId && p.Channel == channel && p.Enabled)
            .OrderBy(p => p.Priority).ThenBy(p => p.Id)
            .ToListAsync(ct);
        IReadOnlyList<ResolvedProvider> chain =
            [.. providers.Select(p => new ResolvedProvider(p, JsonDocument.Parse(p.Settings).RootElement.Clone(), credentials.Unprotect(p.ProtectedCredentials)))];
        _chains[(tenantId, channel)] = (now, chain);
        return chain;
    }

    private static ResolvedProvider DevelopmentSink(Guid tenantId, string channel) => new(
        new Provider
        {
            Id = DevelopmentSinkId, TenantId = tenantId, Channel = channel, Kind = ProviderKinds.Sink, Name = "Development sink", Enabled = true,
            TimeoutMs = 5000, BreakerFailures = 5, BreakSeconds = 30, Settings = "{}",
        },
        JsonDocument.Parse("{}").RootElement.Clone(),
        new Dictionary<string, string>());
}

/// <summary>
/// Each provider's resilience pipeline (Polly.Core): quick retries of transient failures with exponential backoff and
/// jitter, around a circuit breaker (opens when half of at least <see cref="Provider.BreakerFailures"/> calls in 30 s
/// fail, for <see cref="Provider.BreakSeconds"/>), around the provider's timeout. One per provider and version, kept for
/// the process's life, so the circuit's state is shared by every delivery this process sends.
/// </summary>
internal sealed class ProviderResilience(IOptions<ProviderOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<Guid, (DateTimeOffset Version, ResiliencePipeline Pipeline)> _pipelines = new();

    public ResiliencePipeline For(Provider provider)
    {
        if (_pipelines.TryGetValue(provider.Id, out var known) && known.Version == provider.UpdatedAt)
        {
            return known.Pipeline;
        }

        var pipeline = Build(provider);
        _pipelines[provider.Id] = (provider.UpdatedAt, pipeline);
        return pipeline;
    }

    private ResiliencePipeline Build(Provider provider)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = clock };
        if (options.Value.RetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.Value.RetryAttempts,
                Delay = options.Value.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<ProviderException>(e => e.Failure == ProviderFailure.Transient),
            });
        }

        return builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 0.5,
                MinimumThroughput = Math.Max(2, provider.BreakerFailures),
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = TimeSpan.FromSeconds(Math.Max(1, provider.BreakSeconds)),
                // A provider failing (or going silent) counts; a recipient it rightly refuses does not.
                ShouldHandle = new PredicateBuilder()
                    .Handle<ProviderException>(e => e.Failure == ProviderFailure.Transient)
                    .Handle<ProviderInDoubtException>(),
            })
            .AddTimeout(TimeSpan.FromMilliseconds(Math.Max(100, provider.TimeoutMs)))
            .Build();
    }
}

/// <summary>
/// Provider rate limits shared by every Worker: requests are spread evenly (GCRA, the generic cell rate algorithm,
/// without bursts), one every 1/N s for N per second and one every 60/M s for M per minute, timed by the Redis server's
/// clock and kept by one Lua script, so no second (or minute) ever holds more than the limit however many Workers send.
/// </summary>
internal sealed class ProviderRateLimiter(IConnectionMultiplexer redis)
{
    // Each key holds the limit's "theoretical arrival time" (µs): the earliest time the next request may start.
    // Returns the µs to wait, or 0 when the request may start now (and moves each time on by one interval).
    private const string Script = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local limits = { { KEYS[1], tonumber(ARGV[1]), 1000000 }, { KEYS[2], tonumber(ARGV[2]), 60000000 } }
        local wait = 0
        for _, l in ipairs(limits) do
          if l[2] > 0 then
            local next = tonumber(redis.call('GET', l[1]) or '0')
            if next > now then wait = math.max(wait, next - now) end
          end
        end
        if wait > 0 then return wait end
        for _, l in ipairs(limits) do
          if l[2] > 0 then
            local next = math.max(tonumber(redis.call('GET', l[1]) or '0'), now) + math.floor(l[3] / l[2])
            redis.call('SET', l[1], string.format('%.0f', next), 'PX', math.floor(l[3] / 1000) + 1000)
          end
        end
        return 0
        """;

    /// <summary>Waits until the provider may take one more request, and counts it.</summary>
    public async Task WaitAsync(Provider provider, CancellationToken ct)
    {
        if (provider.RatePerSecond is null && provider.RatePerMinute is null)
        {
            return;
        }

        RedisKey[] keys = [$"notify:provider-rate:{provider.Id}:s", $"notify:provider-rate:{provider.Id}:m"];
        while (true)
        {
            var wait = (long)await redis.GetDatabase().ScriptEvaluateAsync(Script, keys, [provider.RatePerSecond ?? 0, provider.RatePerMinute ?? 0]);
            if (wait <= 0)
            {
                return;
            }

            // Real time, as the window is the Redis server's clock.
            await Task.Delay(TimeSpan.FromMicroseconds(wait), ct);
        }
    }
}
