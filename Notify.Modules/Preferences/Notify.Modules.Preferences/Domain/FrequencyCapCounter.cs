using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Preferences.Features;
using StackExchange.Redis;

namespace Notify.Modules.Preferences.Domain;

/// <summary>
/// Frequency caps counted in Redis: one counter per recipient, channel (and overall) and UTC hour or day. A
/// Lua script checks every applicable counter and increments them all only when none is full, so concurrent
/// senders on any number of Workers never exceed a cap and a refused message counts against nothing.
/// </summary>
internal sealed class FrequencyCapCounter(IConnectionMultiplexer redis, TimeProvider clock)
{
    private const string Overall = "*";

    // KEYS: counters; ARGV: their limits, then their time-to-live in seconds. Returns 0, or the 1-based index of the full counter.
    private const string Script = """
        local n = #KEYS
        for i = 1, n do
          local count = tonumber(redis.call('GET', KEYS[i]) or '0')
          if count >= tonumber(ARGV[i]) then return i end
        end
        for i = 1, n do
          if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[n + i]) end
        end
        return 0
        """;

    public async Task<CapDecision> TryConsumeAsync(CapRequest request, FrequencyCaps? caps)
    {
        if (caps is null || request.Priority == NotificationPriority.Critical || MandatoryCategories.Contains(request.Category))
        {
            return new CapDecision(true, null, null);
        }

        var now = clock.GetUtcNow();
        var hourEnds = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(1);
        var dayEnds = new DateTimeOffset(now.Year, now.Month, now.Day, 0, 0, 0, TimeSpan.Zero).AddDays(1);
        var counters = new List<(string Key, long Limit, DateTimeOffset WindowEnds, string Name)>(4);
        // One hash tag per recipient keeps all their counters in one slot, as a script needs on a Redis cluster.
        var prefix = $"notify:caps:{{{request.TenantId:N}:{request.UserId}}}:";
        void Add(string scope, CapLimit? limit)
        {
            var label = scope == Overall ? "overall" : scope;
            if (limit?.PerHour is { } perHour)
            {
                counters.Add(($"{prefix}{scope}:h:{now:yyyyMMddHH}", perHour, hourEnds, label + " per hour"));
            }

            if (limit?.PerDay is { } perDay)
            {
                counters.Add(($"{prefix}{scope}:d:{now:yyyyMMdd}", perDay, dayEnds, label + " per day"));
            }
        }

        Add(request.Channel, caps.Channels is { } channels && channels.TryGetValue(request.Channel, out var channelLimit) ? channelLimit : null);
        Add(Overall, caps.Overall);
        if (counters.Count == 0)
        {
            return new CapDecision(true, null, null);
        }

        var keys = counters.Select(c => (RedisKey)c.Key).ToArray();
        var args = counters.Select(c => (RedisValue)c.Limit)
            .Concat(counters.Select(c => (RedisValue)(long)Math.Ceiling((c.WindowEnds - now).TotalSeconds + 60)))
            .ToArray();
        var full = (int)await redis.GetDatabase().ScriptEvaluateAsync(Script, keys, args);
        if (full == 0)
        {
            return new CapDecision(true, null, null);
        }

        var cap = counters[full - 1];
        return new CapDecision(false, cap.Name, cap.WindowEnds);
    }
}
