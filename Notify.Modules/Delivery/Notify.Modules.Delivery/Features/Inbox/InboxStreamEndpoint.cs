using System.Text;
using System.Text.Json;
using FastEndpoints;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Delivery.Inbox;
using StackExchange.Redis;

namespace Notify.Modules.Delivery.Features.Inbox;

/// <summary>
/// <c>GET /v1/inbox/stream</c>: Server-Sent Events of the recipient's inbox — <c>event: notification</c> with the new
/// item (its id as the SSE id) whichever process stored it, <c>event: unread-count</c> on connect and after every
/// change made through the inbox API, and a comment line as heartbeat so proxies keep the connection open.
/// </summary>
internal sealed class InboxStreamEndpoint(
    InboxFanOut fanOut,
    InboxStore store,
    InboxTokens tokens,
    IHostApplicationLifetime lifetime,
    ILogger<InboxStreamEndpoint> logger) : EndpointWithoutRequest
{
    /// <summary>Under the idle timeouts of common proxies and load balancers (30–60 s).</summary>
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    /// <summary>Items sent again on a reconnect at most; a client that was away longer reads the rest from GET /v1/inbox.</summary>
    private const int ReplayLimit = 200;

    public override void Configure()
    {
        Get("/v1/inbox/stream");
        AllowAnonymous();
        Description(b => b.WithTags("Inbox").Produces(200, contentType: "text/event-stream"));
        Summary(s =>
        {
            s.Summary = "Live inbox updates as Server-Sent Events (subscriber token)";
            s.Description = "Pass the subscriber token as '?token=' (EventSource cannot set headers) or 'Authorization: Bearer'. " +
                "Events: 'notification' (data: the new inbox item, id: its id) and 'unread-count' (data: {unread, unseen}); " +
                "a ': heartbeat' comment every 15 s. " +
                "On a reconnect with 'Last-Event-ID' (sent by EventSource itself) or '?lastEventId=', the items stored since that one come first.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        if (await tokens.AuthenticateAsync(HttpContext) is not { } owner)
        {
            return;
        }

        InboxListener listener;
        try
        {
            // Subscribed before the first count is read, so an item stored in between is announced, not missed.
            listener = await fanOut.ListenAsync(owner.T, owner.U, ct);
        }
        catch (RedisException ex)
        {
            logger.LogWarning(ex, "Opening an inbox stream failed: Redis unavailable");
            HttpContext.Response.Headers.RetryAfter = "5";
            await Problems.WriteAsync(HttpContext, StatusCodes.Status503ServiceUnavailable, "Live updates unavailable",
                "Live inbox updates are unavailable right now; retry shortly. GET /v1/inbox still works.", "stream-unavailable");
            return;
        }

        using var _ = listener;
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        var response = HttpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx: pass events through as they come
        HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        try
        {
            var counts = await store.CountsAsync(owner, stopping.Token);
            await WriteAsync(response, $"retry: 3000\n\n{Format(new InboxStreamEvent(InboxFanOut.CountsEvent, null,
                JsonSerializer.Serialize(new InboxCountsResponse(counts.Unread, counts.Unseen), JsonSerializerOptions.Web)))}", stopping.Token);
            var replayed = await ReplayAsync(response, owner, stopping.Token);
            await PumpAsync(response, listener, replayed, stopping.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The client went away or the host is stopping: the stream just ends.
        }
    }

    /// <summary>
    /// On a reconnect (EventSource sends <c>Last-Event-ID</c> by itself; <c>?lastEventId=</c> for other clients), sends
    /// the items stored since that one, so a dropped connection loses nothing; their ids, to skip when live events repeat them.
    /// </summary>
    private async Task<HashSet<string>> ReplayAsync(HttpResponse response, SubscriberTokenPayload owner, CancellationToken ct)
    {
        var replayed = new HashSet<string>(StringComparer.Ordinal);
        string? lastEventId = HttpContext.Request.Headers["Last-Event-ID"];
        if (string.IsNullOrEmpty(lastEventId))
        {
            lastEventId = HttpContext.Request.Query["lastEventId"];
        }

        if (!Guid.TryParse(lastEventId, out var lastId))
        {
            return replayed;
        }

        var builder = new StringBuilder();
        foreach (var item in await store.StoredSinceAsync(owner, lastId, ReplayLimit, ct))
        {
            var id = item.Id.ToString();
            replayed.Add(id);
            builder.Append(Format(new InboxStreamEvent(InboxFanOut.NotificationEvent, id,
                JsonSerializer.Serialize(InboxItemResponse.From(item), JsonSerializerOptions.Web))));
        }

        if (builder.Length > 0)
        {
            await WriteAsync(response, builder.ToString(), ct);
        }

        return replayed;
    }

    private static async Task PumpAsync(HttpResponse response, InboxListener listener, HashSet<string> replayed, CancellationToken ct)
    {
        var builder = new StringBuilder();
        while (true)
        {
            bool open;
            using (var beat = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                beat.CancelAfter(Heartbeat);
                try
                {
                    open = await listener.Events.WaitToReadAsync(beat.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    await WriteAsync(response, ": heartbeat\n\n", ct);
                    continue;
                }
            }

            if (!open)
            {
                return; // fell too far behind: the client reconnects with Last-Event-ID and gets what it missed
            }

            builder.Clear();
            while (listener.Events.TryRead(out var streamEvent))
            {
                if (streamEvent.Id is null || replayed.Count == 0 || !replayed.Remove(streamEvent.Id))
                {
                    builder.Append(Format(streamEvent));
                }
            }

            if (builder.Length == 0)
            {
                continue;
            }

            await WriteAsync(response, builder.ToString(), ct);
        }
    }

    private static string Format(InboxStreamEvent e) =>
        e.Id is null ? $"event: {e.Event}\ndata: {e.Data}\n\n" : $"id: {e.Id}\nevent: {e.Event}\ndata: {e.Data}\n\n";

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken ct)
    {
        await response.WriteAsync(text, ct);
        await response.Body.FlushAsync(ct);
    }
}
