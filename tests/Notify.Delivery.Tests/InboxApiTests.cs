using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Inbox;
using Notify.Modules.Templates.Contracts;
using Notify.Testing;
using Notify.Webhooks.Tests;

namespace Notify.Delivery.Tests;

/// <summary>Started once for the class: a database, two API replicas and a Worker whose in-app sender runs.</summary>
public sealed class InboxApiFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DeliveryHosts? _hosts;

    internal DeliveryHosts Hosts => _hosts!;

    /// <summary>Receives the tenant's webhooks: the status events the inbox writes reach it through the outbox, RabbitMQ and Webhooks.</summary>
    internal Receiver Webhooks { get; private set; } = null!;

    public Uri ApiA { get; private set; } = null!;
    public Uri ApiB { get; private set; } = null!;
    public Guid TenantId { get; private set; }
    public string AdminKey { get; private set; } = "";

    internal async Task EnsureStartedAsync(Infrastructure infrastructure)
    {
        await _gate.WaitAsync();
        try
        {
            if (_hosts is not null)
            {
                return;
            }

            var hosts = new DeliveryHosts(infrastructure, new Dictionary<string, string?> { ["Notify:Webhooks:AllowPrivateAddresses"] = "true" });
            await hosts.MigrateAsync();
            ApiA = await hosts.StartApiAsync();
            ApiB = await hosts.StartApiAsync();
            await hosts.StartWorkerAsync();
            (TenantId, AdminKey) = await hosts.CreateTenantAsync(ApiA, "inbox");
            Webhooks = await Receiver.StartAsync();
            using var admin = DeliveryHosts.Client(ApiA, AdminKey);
            var created = await admin.PostAsJsonAsync("/v1/webhooks", new { url = Webhooks.Url("events"), eventTypes = new[] { "notification.opened" } });
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
            _hosts = hosts;
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_hosts is not null)
        {
            await _hosts.DisposeAsync();
            await Webhooks.DisposeAsync();
        }
    }
}

/// <summary>The recipient-facing inbox: subscriber tokens, the inbox API and its live stream across replicas.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class InboxApiTests(Infrastructure infrastructure, InboxApiFixture fixture) : IAsyncLifetime, IClassFixture<InboxApiFixture>
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(10);

    public Task InitializeAsync() => fixture.EnsureStartedAsync(infrastructure);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task An_item_stored_by_the_worker_reaches_a_stream_held_by_another_api_replica_within_a_second()
    {
        var token = await TokenForNewUserAsync("ann");
        // Token issued through replica A, stream held by replica B, item stored by the Worker.
        await using var stream = await SseStream.OpenAsync(fixture.ApiB, token);
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        Assert.True(stream.Response.Headers.CacheControl?.NoCache);
        var initial = await stream.NextAsync("unread-count", Soon);
        Assert.Equal(0, Json(initial).GetProperty("unread").GetInt32());

        var queuedAt = DateTimeOffset.UtcNow;
        var (notificationId, deliveryId) = await fixture.Hosts.QueueInAppAsync(fixture.TenantId, "ann", "Your order shipped");
        var pushed = await stream.NextAsync("notification", Soon);

        Assert.True(pushed.ReceivedAt - queuedAt < TimeSpan.FromSeconds(1), $"arrived after {(pushed.ReceivedAt - queuedAt).TotalMilliseconds} ms");
        Assert.Equal(deliveryId.ToString(), pushed.Id);
        var item = Json(pushed);
        Assert.Equal(deliveryId, item.GetProperty("id").GetGuid());
        Assert.Equal(notificationId, item.GetProperty("notificationId").GetGuid());
        Assert.Equal("Your order shipped", item.GetProperty("title").GetString());
        Assert.Equal("Body of Your order shipped", item.GetProperty("body").GetString());
        Assert.Equal("https://example.com/orders/A-1", item.GetProperty("actionUrl").GetString());
        Assert.Equal("A-1", item.GetProperty("data").GetProperty("orderId").GetString());
        Assert.Equal(JsonValueKind.Null, item.GetProperty("readAt").ValueKind);

        await fixture.Hosts.WithDbAsync(async db =>
        {
            Assert.Equal(DeliveryStatus.Sent, (await db.Deliveries.AsNoTracking().SingleAsync(d => d.Id == deliveryId)).Status);
            Assert.Equal(NotificationStatus.Sent, (await db.Notifications.AsNoTracking().SingleAsync(n => n.Id == notificationId)).Status);
            Assert.Single(await db.Events.AsNoTracking().Where(e => e.DeliveryId == deliveryId && e.Type == TimelineEvents.Sent).ToListAsync());
            return 0;
        });
    }

    [Fact]
    public async Task Read_unread_seen_archive_and_read_all_change_the_items_and_counts_and_streams_hear_the_counts()
    {
        var token = await TokenForNewUserAsync("bob");
        using var bob = DeliveryHosts.Client(fixture.ApiA, token);
        var queued = await fixture.Hosts.QueueInAppAsync(fixture.TenantId, ["bob", "bob", "bob"], "Hello");
        await Eventually.WaitUntilAsync(async () => (await ListAsync(bob, "")).Count == 3, Soon);
        Assert.Equal((3, 3), await CountsAsync(bob));
        await using var stream = await SseStream.OpenAsync(fixture.ApiB, token);
        Assert.Equal(3, Json(await stream.NextAsync("unread-count", Soon)).GetProperty("unread").GetInt32());
        var (first, second, third) = (queued[0].DeliveryId, queued[1].DeliveryId, queued[2].DeliveryId);

        var seen = await PostItemAsync(bob, first, "seen");
        Assert.NotEqual(JsonValueKind.Null, seen.GetProperty("seenAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, seen.GetProperty("readAt").ValueKind);
        Assert.Equal((3, 2), await CountsAsync(bob));
        var heard = Json(await stream.NextAsync("unread-count", Soon)); // published by replica A, heard on B
        Assert.Equal(3, heard.GetProperty("unread").GetInt32());
        Assert.Equal(2, heard.GetProperty("unseen").GetInt32());

        var read = await PostItemAsync(bob, second, "read");
        Assert.NotEqual(JsonValueKind.Null, read.GetProperty("readAt").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, read.GetProperty("seenAt").ValueKind);
        Assert.Equal((2, 1), await CountsAsync(bob));
        Assert.Equal(2, Json(await stream.NextAsync("unread-count", Soon)).GetProperty("unread").GetInt32());
        Assert.Equal([second], (await ListAsync(bob, "?status=read")).Select(i => i.GetProperty("id").GetGuid()));
        Assert.Equal(2, (await ListAsync(bob, "?status=unread")).Count);

        var unread = await PostItemAsync(bob, second, "unread");
        Assert.Equal(JsonValueKind.Null, unread.GetProperty("readAt").ValueKind);
        Assert.Equal((3, 1), await CountsAsync(bob));

        await PostItemAsync(bob, third, "archive");
        Assert.Equal((2, 0), await CountsAsync(bob)); // archived items are not counted
        Assert.Equal(new[] { first, second }.Order(), (await ListAsync(bob, "")).Select(i => i.GetProperty("id").GetGuid()).Order());
        Assert.Equal([third], (await ListAsync(bob, "?archived=true")).Select(i => i.GetProperty("id").GetGuid()));

        var all = await bob.PostAsync("/v1/inbox/read-all", null);
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        Assert.Equal(3, (await all.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("updated").GetInt32()); // the archived one too
        Assert.Equal((0, 0), await CountsAsync(bob));
        Assert.Empty(await ListAsync(bob, "?status=unread"));

        var unarchived = await PostItemAsync(bob, third, "unarchive");
        Assert.Equal(JsonValueKind.Null, unarchived.GetProperty("archivedAt").ValueKind);
        Assert.Equal(3, (await ListAsync(bob, "")).Count);
    }

    [Fact]
    public async Task Reading_an_item_opens_its_delivery_once_with_a_timeline_row_and_a_notification_opened_event()
    {
        var token = await TokenForNewUserAsync("cid");
        using var cid = DeliveryHosts.Client(fixture.ApiA, token);
        var queued = await fixture.Hosts.QueueInAppAsync(fixture.TenantId, ["cid", "cid", "cid"], "Read me");
        await Eventually.WaitUntilAsync(async () => (await ListAsync(cid, "")).Count == 3, Soon);
        var (first, second, third) = (queued[0].DeliveryId, queued[1].DeliveryId, queued[2].DeliveryId);

        await PostItemAsync(cid, first, "seen");
        Assert.Equal(DeliveryStatus.Sent, await DeliveryStatusAsync(first)); // seen in the list is not read

        await PostItemAsync(cid, first, "read");
        await PostItemAsync(cid, first, "unread");
        await PostItemAsync(cid, first, "read");
        Assert.Equal(DeliveryStatus.Opened, await DeliveryStatusAsync(first));
        var opened = await fixture.Hosts.WithDbAsync(db => db.Events.AsNoTracking()
            .Where(e => e.DeliveryId == first && e.Type == DeliveryStatus.Opened).ToListAsync());
        Assert.Equal(Channels.InApp, Assert.Single(opened).Channel); // read twice, opened once
        Assert.Equal(queued[0].NotificationId, opened[0].NotificationId);
        Assert.Equal(DeliveryStatus.Sent, await DeliveryStatusAsync(second));

        var all = await cid.PostAsync("/v1/inbox/read-all", null);
        Assert.Equal(2, (await all.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("updated").GetInt32());
        Assert.Equal(DeliveryStatus.Opened, await DeliveryStatusAsync(second));
        Assert.Equal(DeliveryStatus.Opened, await DeliveryStatusAsync(third));

        // Each opening is announced once: a notification.opened webhook per delivery, the first's sent before read-all.
        await Eventually.WaitUntilAsync(() => Task.FromResult(OpenedWebhooks().Count(d => queued.Any(q => q.DeliveryId == d)) == 3), Soon);
        Assert.Equal(new[] { first, second, third }.Order(), OpenedWebhooks().Where(d => queued.Any(q => q.DeliveryId == d)).Order());
    }

    [Fact]
    public async Task A_recipient_past_their_minute_budget_on_any_replica_gets_429_with_retry_after_and_others_are_unaffected()
    {
        var limit = new InboxOptions().RequestsPerMinute;
        var token = await TokenForNewUserAsync("gil");
        using var gilOnA = DeliveryHosts.Client(fixture.ApiA, token);
        using var gilOnB = DeliveryHosts.Client(fixture.ApiB, token);
        using var hal = DeliveryHosts.Client(fixture.ApiA, await TokenForNewUserAsync("hal"));

        // Both replicas count against one budget. Up to twice the limit: a minute's window may turn over once meanwhile.
        var allowed = 0;
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 2 * limit && refused is null; i++)
        {
            var response = await (i % 2 == 0 ? gilOnA : gilOnB).GetAsync("/v1/inbox/unread-count");
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
                break;
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            allowed++;
        }

        Assert.NotNull(refused);
        Assert.InRange(allowed, limit, 2 * limit - 1);
        var retryAfter = refused.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.EndsWith("/rate-limited", problem.GetProperty("type").GetString());
        Assert.Contains($"{limit} requests per minute", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await hal.GetAsync("/v1/inbox/unread-count")).StatusCode);
    }

    [Fact]
    public async Task A_stream_reopened_with_last_event_id_first_gets_the_items_stored_while_it_was_away()
    {
        var token = await TokenForNewUserAsync("fay");
        string lastId;
        await using (var stream = await SseStream.OpenAsync(fixture.ApiA, token))
        {
            await stream.NextAsync("unread-count", Soon);
            await fixture.Hosts.QueueInAppAsync(fixture.TenantId, "fay", "Before");
            lastId = (await stream.NextAsync("notification", Soon)).Id!;
        }

        var missed = await fixture.Hosts.QueueInAppAsync(fixture.TenantId, ["fay", "fay"], "While away");
        using var fay = DeliveryHosts.Client(fixture.ApiA, token);
        await Eventually.WaitUntilAsync(async () => (await ListAsync(fay, "")).Count == 3, Soon);

        await using var reopened = await SseStream.OpenAsync(fixture.ApiB, token, lastId);
        var replayed = new[] { await reopened.NextAsync("notification", Soon), await reopened.NextAsync("notification", Soon) };
        Assert.Equal(missed.Select(m => m.DeliveryId.ToString()).Order(), replayed.Select(e => e.Id!).Order());
        Assert.All(replayed, e => Assert.Equal("While away", Json(e).GetProperty("title").GetString()));

        // And live items still follow.
        var (_, live) = await fixture.Hosts.QueueInAppAsync(fixture.TenantId, "fay", "Live");
        Assert.Equal(live.ToString(), (await reopened.NextAsync("notification", Soon)).Id);
    }

    [Fact]
    public async Task The_inbox_pages_newest_first_with_a_cursor_and_filters_by_category()
    {
        var token = await TokenForNewUserAsync("cy");
        using var cy = DeliveryHosts.Client(fixture.ApiB, token);
        await fixture.Hosts.QueueInAppAsync(fixture.TenantId, ["cy", "cy", "cy"], "Update", "updates");
        await Eventually.WaitUntilAsync(async () => (await ListAsync(cy, "")).Count == 3, Soon);
        await fixture.Hosts.QueueInAppAsync(fixture.TenantId, ["cy", "cy"], "Invoice", "billing");
        await Eventually.WaitUntilAsync(async () => (await ListAsync(cy, "")).Count == 5, Soon);

        var whole = await ListAsync(cy, "?limit=50");
        var paged = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var page = await cy.GetFromJsonAsync<JsonElement>("/v1/inbox?limit=2" + (cursor is null ? "" : "&cursor=" + cursor));
            var items = page.GetProperty("items").EnumerateArray().ToList();
            Assert.InRange(items.Count, 1, 2);
            paged.AddRange(items);
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(whole.Select(i => i.GetProperty("id").GetGuid()), paged.Select(i => i.GetProperty("id").GetGuid()));
        var created = whole.Select(i => i.GetProperty("createdAt").GetDateTimeOffset()).ToList();
        Assert.Equal(created.OrderDescending(), created);
        Assert.Equal(["Invoice", "Invoice"], whole.Take(2).Select(i => i.GetProperty("title").GetString()));
        Assert.All(await ListAsync(cy, "?category=billing"), i => Assert.Equal("billing", i.GetProperty("category").GetString()));
        Assert.Equal(2, (await ListAsync(cy, "?category=billing")).Count);

        var bad = await cy.GetAsync("/v1/inbox?status=maybe&cursor=nope");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await bad.Content.ReadAsStringAsync();
        Assert.Contains("status", problem, StringComparison.Ordinal);
        Assert.Contains("cursor", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tampered_expired_wrong_purpose_or_missing_tokens_and_api_keys_get_401_and_another_users_item_is_404()
    {
        var dan = await TokenForNewUserAsync("dan");
        var (_, annItem) = await fixture.Hosts.QueueInAppAsync(fixture.TenantId, "dan-neighbour", "Not yours");
        var signer = new SignedTokens(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [SignedTokens.ConfigurationKey] = ModuleHost.SigningKey }).Build(), TimeProvider.System);
        var payload = new { T = fixture.TenantId, U = "dan" };
        var tampered = dan[..^2] + (dan[^2] == 'A' ? "B" : "A") + dan[^1];
        var expired = signer.Issue("inbox", payload, TimeSpan.FromSeconds(-5));
        var wrongPurpose = signer.Issue("preference-center", payload, TimeSpan.FromHours(1));

        foreach (var (bearer, why) in new[] { (tampered, "tampered"), (expired, "expired"), (wrongPurpose, "purpose"), (null, "missing"), (fixture.AdminKey, "api key") })
        {
            using var client = DeliveryHosts.Client(fixture.ApiA, bearer);
            var response = await client.GetAsync("/v1/inbox");
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{why}: {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(why == "expired" ? "https://notify.dev/problems/token-expired" : "https://notify.dev/problems/unauthorized",
                problem.GetProperty("type").GetString());
        }

        using var streamClient = DeliveryHosts.Client(fixture.ApiA, null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await streamClient.GetAsync("/v1/inbox/stream?token=" + Uri.EscapeDataString(expired))).StatusCode);

        // A valid token of another user of the same tenant: the item is not theirs.
        await Eventually.WaitUntilAsync(async () => await fixture.Hosts.WithDbAsync(db => db.InboxItems.AnyAsync(i => i.Id == annItem)), Soon);
        using var danClient = DeliveryHosts.Client(fixture.ApiA, dan);
        var foreign = await danClient.PostAsync($"/v1/inbox/{annItem}/read", null);
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Empty(await ListAsync(danClient, ""));
        Assert.Null(await fixture.Hosts.WithDbAsync(db => db.InboxItems.Where(i => i.Id == annItem).Select(i => i.ReadAt).SingleAsync()));
    }

    [Fact]
    public async Task A_subscriber_token_needs_a_known_user_a_send_scope_and_a_lifetime_within_limits()
    {
        using var admin = DeliveryHosts.Client(fixture.ApiA, fixture.AdminKey);
        var unknown = await admin.PostAsJsonAsync("/v1/users/nobody/subscriber-token", new { });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("nobody", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await UpsertUserAsync("eve");
        var tooShort = await admin.PostAsJsonAsync("/v1/users/eve/subscriber-token", new { expiresInSeconds = 10 });
        Assert.Equal(HttpStatusCode.BadRequest, tooShort.StatusCode);
        Assert.Contains("expiresInSeconds", await tooShort.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        var before = DateTimeOffset.UtcNow;
        var hour = await admin.PostAsJsonAsync("/v1/users/eve/subscriber-token", new { expiresInSeconds = 3600 });
        Assert.Equal(HttpStatusCode.OK, hour.StatusCode);
        var body = await hour.Content.ReadFromJsonAsync<JsonElement>();
        Assert.InRange(body.GetProperty("expiresAt").GetDateTimeOffset(), before.AddSeconds(3598), before.AddSeconds(3602));
        using var eve = DeliveryHosts.Client(fixture.ApiB, body.GetProperty("token").GetString());
        Assert.Equal((0, 0), await CountsAsync(eve));

        var noBody = await admin.PostAsync("/v1/users/eve/subscriber-token", null);
        Assert.Equal(HttpStatusCode.OK, noBody.StatusCode);
        var defaultExpiry = (await noBody.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(defaultExpiry, before.AddHours(24).AddSeconds(-2), before.AddHours(24).AddSeconds(30));

        using var anonymous = DeliveryHosts.Client(fixture.ApiA, null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/v1/users/eve/subscriber-token", new { })).StatusCode);
    }

    private async Task UpsertUserAsync(string userId)
    {
        using var admin = DeliveryHosts.Client(fixture.ApiA, fixture.AdminKey);
        var response = await admin.PutAsJsonAsync($"/v1/users/{userId}", new { email = $"{userId}@example.com" });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<string> TokenForNewUserAsync(string userId)
    {
        await UpsertUserAsync(userId);
        using var admin = DeliveryHosts.Client(fixture.ApiA, fixture.AdminKey);
        var response = await admin.PostAsJsonAsync($"/v1/users/{userId}/subscriber-token", new { });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
    }

    private static async Task<List<JsonElement>> ListAsync(HttpClient client, string query)
    {
        var page = await client.GetFromJsonAsync<JsonElement>("/v1/inbox" + query);
        return page.GetProperty("items").EnumerateArray().ToList();
    }

    private static async Task<(int Unread, int Unseen)> CountsAsync(HttpClient client)
    {
        var counts = await client.GetFromJsonAsync<JsonElement>("/v1/inbox/unread-count");
        return (counts.GetProperty("unread").GetInt32(), counts.GetProperty("unseen").GetInt32());
    }

    private Task<string> DeliveryStatusAsync(Guid deliveryId) =>
        fixture.Hosts.WithDbAsync(db => db.Deliveries.AsNoTracking().Where(d => d.Id == deliveryId).Select(d => d.Status).SingleAsync());

    /// <summary>The deliveries of the notification.opened webhooks received so far, one per event (a retried webhook keeps its id).</summary>
    private List<Guid> OpenedWebhooks() => fixture.Webhooks.Received("events")
        .DistinctBy(r => r.Headers["webhook-id"].ToString())
        .Select(r => JsonDocument.Parse(r.Body).RootElement)
        .Where(e => e.GetProperty("type").GetString() == "notification.opened")
        .Select(e => e.GetProperty("data").GetProperty("deliveryId").GetGuid()).ToList();

    private static async Task<JsonElement> PostItemAsync(HttpClient client, Guid id, string action)
    {
        var response = await client.PostAsync($"/v1/inbox/{id}/{action}", null);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{action}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static JsonElement Json(SseEvent e) => JsonSerializer.Deserialize<JsonElement>(e.Data);
}
