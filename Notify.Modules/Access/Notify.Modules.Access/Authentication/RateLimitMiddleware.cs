using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Http;
using StackExchange.Redis;

namespace Notify.Modules.Access.Authentication;

/// <summary>
/// Per-key fixed-window rate limit counted in Redis, so every API replica shares one budget. The limit
/// is the key's tenant's <c>rateLimitPerMinute</c>. If Redis is unreachable requests are let through:
/// an outage of the counter should not take the API down with it.
/// </summary>
internal sealed class RateLimitMiddleware(RequestDelegate next, IConnectionMultiplexer redis, TimeProvider clock, ILogger<RateLimitMiddleware> logger)
{
    public const string IdentityItem = "notify:api-key-identity";
    private const long WindowMilliseconds = 60_000;

    // INCR and set the expiry atomically on the first hit of a window; returns the count and time left.
    private static readonly LuaScript Script = LuaScript.Prepare(
        """
        local count = redis.call('INCR', @key)
        if count == 1 then redis.call('PEXPIRE', @key, @window) end
        return { count, redis.call('PTTL', @key) }
        """);

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Items[IdentityItem] is not ApiKeyIdentity identity)
        {
            await next(context);
            return;
        }

        long count;
        long millisecondsLeft;
        try
        {
            var window = clock.GetUtcNow().ToUnixTimeMilliseconds() / WindowMilliseconds;
            var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(Script, new
            {
                key = (RedisKey)$"ratelimit:{identity.KeyId:N}:{window}",
                window = WindowMilliseconds,
            }))!;
            count = (long)result[0];
            millisecondsLeft = Math.Max(0, (long)result[1]);
        }
        catch (RedisException ex)
        {
            logger.LogWarning(ex, "Rate limit check skipped: Redis unavailable");
            await next(context);
            return;
        }

        var limit = identity.RateLimitPerMinute;
        var headers = context.Response.Headers;
        headers["RateLimit-Limit"] = limit.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = Math.Max(0, limit - count).ToString(CultureInfo.InvariantCulture);
        var retryAfter = ((millisecondsLeft + 999) / 1000).ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Reset"] = retryAfter;

        if (count > limit)
        {
            headers.RetryAfter = retryAfter;
            await Problems.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too many requests",
                $"This API key may make {limit} requests per minute; retry after {retryAfter} s.", "rate-limited");
            return;
        }

        await next(context);
    }
}
