using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Notify.Modules.Delivery.Features.Inbox;
using StackExchange.Redis;

namespace Notify.Modules.Delivery.Inbox;

/// <summary>One Server-Sent Event for a recipient's open streams.</summary>
/// <param name="Event">The SSE <c>event:</c> name.</param>
/// <param name="Id">The SSE <c>id:</c> (the item's id), if any.</param>
/// <param name="Data">The SSE <c>data:</c>, compact JSON (one line).</param>
internal sealed record InboxStreamEvent(string Event, string? Id, string Data);

/// <summary>
/// Live inbox updates across processes through Redis pub/sub, one channel per recipient (<c>notify:inbox:{tenant}:{user}</c>).
/// Whoever changes an inbox — the Worker storing new items, an API replica marking items read — publishes to the
/// recipient's channel; an API process subscribes to a recipient's channel while it holds at least one open stream of
/// theirs and writes what arrives to those streams.
/// </summary>
/// <remarks>
/// A channel per recipient rather than one shared channel: Redis then routes each message only to the replicas that
/// hold a stream of that recipient, and a message for a recipient with no open stream (most in-app items) costs one
/// hash lookup in Redis and reaches no process — with one shared channel every replica would receive and discard the
/// whole in-app volume (1,500/s or more), and the cost would grow with every replica added. Subscribing costs one
/// SUBSCRIBE per recipient per replica, multiplexed on the connection the modules already share. Live updates are
/// best effort: the item is stored before it is published, and a client that missed one (Redis down, reconnecting)
/// sees it in <c>GET /v1/inbox</c> or by reconnecting with <c>Last-Event-ID</c>.
/// </remarks>
internal sealed class InboxFanOut(IConnectionMultiplexer redis, ILogger<InboxFanOut> logger)
{
    public const string NotificationEvent = "notification";
    public const string CountsEvent = "unread-count";

    /// <summary>Events a stream may lag behind before it is closed (the client reconnects and catches up).</summary>
    private const int StreamBuffer = 1_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Topic> _topics = new(StringComparer.Ordinal);

    public static RedisChannel ChannelOf(Guid tenantId, string userId) => RedisChannel.Literal($"notify:inbox:{tenantId:N}:{userId}");

    /// <summary>Publishes a new item to its recipient's streams without waiting (the sender publishes a batch at a time).</summary>
    public void PublishItem(Guid tenantId, string userId, InboxItemResponse item)
    {
        var json = JsonSerializer.Serialize(item, JsonSerializerOptions.Web);
        redis.GetSubscriber().Publish(ChannelOf(tenantId, userId), Encode(new InboxStreamEvent(NotificationEvent, item.Id.ToString(), json)),
            CommandFlags.FireAndForget);
    }

    /// <summary>Publishes the recipient's counts after a change, so their other tabs and devices update too.</summary>
    public async Task PublishCountsAsync(Guid tenantId, string userId, InboxCountsResponse counts)
    {
        try
        {
            var json = JsonSerializer.Serialize(counts, JsonSerializerOptions.Web);
            await redis.GetSubscriber().PublishAsync(ChannelOf(tenantId, userId), Encode(new InboxStreamEvent(CountsEvent, null, json)));
        }
        catch (RedisException ex)
        {
            // The change is stored; open streams just miss this count until the next one.
            logger.LogWarning(ex, "Publishing inbox counts failed");
        }
    }

    /// <summary>Starts receiving the recipient's events; returns once this process is subscribed, so nothing published after is missed.</summary>
    public async Task<InboxListener> ListenAsync(Guid tenantId, string userId, CancellationToken ct)
    {
        var channel = ChannelOf(tenantId, userId);
        var key = channel.ToString();
        var listener = new InboxListener(this, key);
        Topic topic;
        lock (_gate)
        {
            if (!_topics.TryGetValue(key, out topic!))
            {
                var created = topic = new Topic(channel);
                created.Handler = (_, message) => Deliver(created, message);
                created.Subscribed = redis.GetSubscriber().SubscribeAsync(channel, created.Handler);
                _topics[key] = topic;
            }

            topic.Listeners.Add(listener);
        }

        try
        {
            await topic.Subscribed.WaitAsync(ct);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        return listener;
    }

    /// <summary>How many recipients this process holds streams for (for tests and diagnostics).</summary>
    public int SubscribedRecipients
    {
        get
        {
            lock (_gate)
            {
                return _topics.Count;
            }
        }
    }

    internal void Leave(InboxListener listener)
    {
        Topic? emptied = null;
        lock (_gate)
        {
            if (_topics.TryGetValue(listener.Key, out var topic) && topic.Listeners.Remove(listener) && topic.Listeners.Count == 0)
            {
                _topics.Remove(listener.Key);
                emptied = topic;
            }
        }

        if (emptied is not null)
        {
            // Removes only this topic's handler: a new topic for the same recipient, subscribed meanwhile, keeps its own.
            _ = UnsubscribeAsync(emptied);
        }
    }

    private async Task UnsubscribeAsync(Topic topic)
    {
        try
        {
            await topic.Subscribed;
            await redis.GetSubscriber().UnsubscribeAsync(topic.Channel, topic.Handler);
        }
        catch (Exception ex) when (ex is RedisException or TaskCanceledException)
        {
            logger.LogDebug(ex, "Unsubscribing an inbox channel failed");
        }
    }

    private void Deliver(Topic topic, RedisValue message)
    {
        if (Decode(message) is not { } streamEvent)
        {
            return;
        }

        InboxListener[] listeners;
        lock (_gate)
        {
            listeners = [.. topic.Listeners];
        }

        foreach (var listener in listeners)
        {
            listener.Offer(streamEvent);
        }
    }

    /// <summary><c>event|id|data</c>: the data last, since it may contain '|'.</summary>
    private static string Encode(InboxStreamEvent e) => $"{e.Event}|{e.Id}|{e.Data}";

    private static InboxStreamEvent? Decode(RedisValue message)
    {
        var parts = ((string?)message)?.Split('|', 3);
        return parts is { Length: 3 } ? new InboxStreamEvent(parts[0], parts[1].Length == 0 ? null : parts[1], parts[2]) : null;
    }

    private sealed class Topic(RedisChannel channel)
    {
        public RedisChannel Channel { get; } = channel;
        public Task Subscribed { get; set; } = Task.CompletedTask;
        public Action<RedisChannel, RedisValue> Handler { get; set; } = (_, _) => { };
        public List<InboxListener> Listeners { get; } = [];
    }

    internal static Channel<InboxStreamEvent> NewBuffer() =>
        Channel.CreateBounded<InboxStreamEvent>(new BoundedChannelOptions(StreamBuffer) { SingleReader = true });
}

/// <summary>One open stream's subscription: the events for it, until disposed.</summary>
internal sealed class InboxListener(InboxFanOut fanOut, string key) : IDisposable
{
    private readonly Channel<InboxStreamEvent> _events = InboxFanOut.NewBuffer();

    public string Key { get; } = key;

    /// <summary>Completes when the stream fell too far behind; the endpoint then ends the response and the client reconnects.</summary>
    public ChannelReader<InboxStreamEvent> Events => _events.Reader;

    internal void Offer(InboxStreamEvent streamEvent)
    {
        if (!_events.Writer.TryWrite(streamEvent))
        {
            _events.Writer.TryComplete();
        }
    }

    public void Dispose()
    {
        _events.Writer.TryComplete();
        fanOut.Leave(this);
    }
}
