using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Notify.Modules.Abstractions.Http;

/// <summary>
/// A per-caller, fixed-window request budget counted in Redis, so every API replica shares one budget. Answers with the
/// <c>RateLimit-*</c> headers, and with 429 problem details and <c>Retry-After</c> once the minute's budget is spent. If
/// Redis is unreachable requests are let through: an outage of the counter should not take the API down with it.
/// </summary>
public sealed class RequestBudget(IConnectionMultiplexer redis, TimeProvider clock, ILogger<RequestBudget> logger)
{
    private const long WindowMilliseconds = 60_000;

    // INCR and set the expiry atomically on the first hit of a window; returns the count and time left.
    private static readonly LuaScript Script = LuaScript.Prepare(
        """
        local count = redis.call('INCR', @key)
        if count == 1 then redis.call('PEXPIRE', @key, @window) end
        return { count, redis.call('PTTL', @key) }
        """);

    /// <summary>
    /// Counts one request of <paramref name="caller"/> (a Redis key part) against <paramref name="perMinute"/>; false after
    /// answering 429, naming <paramref name="who"/> ("This API key") in the problem's detail.
    /// </summary>
    public async Task<bool> TryTakeAsync(HttpContext context, string caller, int perMinute, string who)
    {
        long count;
        long millisecondsLeft;
        try
        {
            var window = clock.GetUtcNow().ToUnixTimeMilliseconds() / WindowMilliseconds;
            var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(Script, new
            {
                key = (RedisKey)$"ratelimit:{caller}:{window}",
                window = WindowMilliseconds,
            }))!;
            count = (long)result[0];
            millisecondsLeft = Math.Max(0, (long)result[1]);
        }
        catch (RedisException ex)
        {
            logger.LogWarning(ex, "Rate limit check skipped: Redis unavailable");
            return true;
        }

        var headers = context.Response.Headers;
        headers["RateLimit-Limit"] = perMinute.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = Math.Max(0, perMinute - count).ToString(CultureInfo.InvariantCulture);
        var retryAfter = ((millisecondsLeft + 999) / 1000).ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Reset"] = retryAfter;
        if (count <= perMinute)
        {
            return true;
        }

        headers.RetryAfter = retryAfter;
        await Problems.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too many requests",
            $"{who} may make {perMinute} requests per minute; retry after {retryAfter} s.", "rate-limited");
        return false;
    }
}
