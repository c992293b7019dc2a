using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notify.Modules.Delivery.Scheduling;
using Notify.Testing;
using Notify.Webhooks.Tests;
using Npgsql;

namespace Notify.Delivery.Tests;

/// <summary>
/// API → Worker → SMTP and webhooks, with the Worker's clock moved by the test: quiet hours and scheduled sends go out
/// when the clock reaches their time and not before; the batch and list endpoints; status events reaching a webhook.
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class PipelineTests(Infrastructure infrastructure) : IAsyncLifetime
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    // Tomorrow 23:30 in Berlin: later than the API's real clock, so a scheduled send an hour after it is in the future there too.
    private readonly ManualClock _clock = new(BerlinTime(DateTime.UtcNow.Date.AddDays(1), new TimeOnly(23, 30)));
    private readonly ScriptedSmtpServer _smtp = new();
    private DeliveryHosts _hosts = null!;
    private IHost _worker = null!;
    private Receiver _receiver = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _hosts = new DeliveryHosts(infrastructure, new()
        {
            ["ConnectionStrings:smtp"] = $"smtp://127.0.0.1:{_smtp.Port}",
            ["Notify:Webhooks:AllowPrivateAddresses"] = "true",
            ["Notify:Webhooks:PollInterval"] = "00:00:00.100",
        });
        await _hosts.MigrateAsync();
        var api = await _hosts.StartApiAsync();
        _worker = await _hosts.StartWorkerAsync(_clock);
        _receiver = await Receiver.StartAsync();
        _client = DeliveryHosts.Client(api, (await _hosts.CreateTenantAsync(api, "Clocked")).AdminKey);

        await Ok(_client.PostAsJsonAsync("/v1/templates", new
        {
            key = "reminder",
            name = "Reminder",
            category = "updates",
            channels = new[] { "email" },
            defaultLocale = "en",
            variables = new object[] { new { name = "what", required = true } },
            variants = new[] { new { locale = "en", content = new { email = new { subject = "Reminder: {{ what }}", html = "<p>Don't forget {{ what }}.</p>" } } } },
        }));
        await Ok(_client.PostAsync("/v1/templates/reminder/publish", null));
        await Ok(_client.PutAsJsonAsync("/v1/users/ann", new { email = "ann@example.com", timeZone = "Europe/Berlin" }));
        await Ok(_client.PutAsJsonAsync("/v1/users/ann/preferences", new { quietHours = new { start = "22:00", end = "07:00" } }));
        await Ok(_client.PutAsJsonAsync("/v1/users/bob", new { email = "bob@example.com", timeZone = "Europe/Berlin" }));
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _hosts.DisposeAsync();
        await _receiver.DisposeAsync();
        _smtp.Dispose();
    }

    [Fact]
    public async Task Inside_quiet_hours_the_email_waits_for_the_window_end_and_goes_out_when_the_clock_gets_there()
    {
        await Ok(_client.PostAsJsonAsync("/v1/webhooks", new { url = _receiver.Url("events"), eventTypes = new[] { "notification.*" } }));
        var id = await SendAsync(new { templateKey = "reminder", recipients = new[] { new { userId = "ann" } }, data = new { what = "the dentist" } });

        // Planned at 23:30 Berlin time: held until 07:00 the next morning there.
        var delivery = await EventuallyAsync(async () => (await DetailsAsync(id)).GetProperty("deliveries").EnumerateArray().FirstOrDefault());
        var expected = BerlinTime(DateTime.UtcNow.Date.AddDays(2), new TimeOnly(7, 0));
        Assert.Equal(expected, delivery.GetProperty("deliverAt").GetDateTimeOffset());
        Assert.Equal("queued", delivery.GetProperty("status").GetString());

        // The sender polls every 250 ms: a few rounds pass and nothing goes out before the window ends.
        _clock.Now = expected.AddMinutes(-1);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Empty(_smtp.Messages);

        _clock.Now = expected;
        await Notify.Testing.Eventually.WaitUntilAsync(() => Task.FromResult(_smtp.Messages.Count == 1), Timeout);
        Assert.Contains("Subject: Reminder: the dentist", _smtp.Messages[0], StringComparison.Ordinal);
        await Notify.Testing.Eventually.WaitUntilAsync(async () => (await DetailsAsync(id)).GetProperty("status").GetString() == "sent", Timeout);

        // The status changes reached the tenant's webhook endpoint as notification.* events about this notification.
        await Notify.Testing.Eventually.WaitUntilAsync(() => Task.FromResult(WebhookTypes(id).Contains("notification.sent")), Timeout);
        Assert.True(WebhookTypes(id).Order().SequenceEqual(["notification.accepted", "notification.sent"]), string.Join("\n",
            _receiver.Received("events").Select(r => $"{r.Headers["webhook-id"]} {r.StatusCode} {r.Body}")));
        var sent = _receiver.Received("events").Select(r => JsonDocument.Parse(r.Body).RootElement)
            .First(e => e.GetProperty("type").GetString() == "notification.sent");
        Assert.Equal("ann", sent.GetProperty("data").GetProperty("userId").GetString());
        Assert.Equal("email", sent.GetProperty("data").GetProperty("channel").GetString());
        Assert.Equal("reminder", sent.GetProperty("data").GetProperty("templateKey").GetString());
    }

    [Fact]
    public async Task A_scheduled_send_is_released_by_the_job_only_once_the_clock_reaches_its_time()
    {
        var at = _clock.Now.AddHours(1);
        var id = await SendAsync(new { templateKey = "reminder", recipients = new[] { new { userId = "bob" } }, data = new { what = "lunch" }, scheduledFor = at });
        Assert.Equal("scheduled", (await DetailsAsync(id)).GetProperty("status").GetString());
        Assert.Equal(at, await ReleaseAtAsync(id) ?? default, TimeSpan.FromMilliseconds(1));

        // Not yet: the release finds nothing due, and the Quartz job (every 5 s) neither.
        await using (var scope = _worker.Services.CreateAsyncScope())
        {
            Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<ScheduledRelease>().ReleaseDueAsync(default));
        }

        await Task.Delay(TimeSpan.FromSeconds(6));
        Assert.Equal("scheduled", (await DetailsAsync(id)).GetProperty("status").GetString());
        Assert.Empty(_smtp.Messages);

        _clock.Now = at;
        await Notify.Testing.Eventually.WaitUntilAsync(() => Task.FromResult(_smtp.Messages.Count == 1), Timeout);
        Assert.Contains("Subject: Reminder: lunch", _smtp.Messages[0], StringComparison.Ordinal);
        await Notify.Testing.Eventually.WaitUntilAsync(async () => (await DetailsAsync(id)).GetProperty("status").GetString() == "sent", Timeout);
        var timeline = (await DetailsAsync(id)).GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal(["scheduled", "released", "queued", "sent"], timeline);
        Assert.Null(await ReleaseAtAsync(id)); // out of the release job's index
    }

    [Fact]
    public async Task A_scheduled_send_cancelled_before_its_time_is_never_released()
    {
        var at = _clock.Now.AddHours(1);
        var id = await SendAsync(new { templateKey = "reminder", recipients = new[] { new { userId = "bob" } }, data = new { what = "tea" }, scheduledFor = at });
        await Ok(_client.PostAsync($"/v1/notifications/{id}/cancel", null));

        _clock.Now = at.AddMinutes(1);
        await using (var scope = _worker.Services.CreateAsyncScope())
        {
            Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<ScheduledRelease>().ReleaseDueAsync(default));
        }

        Assert.Equal("cancelled", (await DetailsAsync(id)).GetProperty("status").GetString());
        Assert.Null(await ReleaseAtAsync(id));
        Assert.Empty(_smtp.Messages);
    }

    [Fact]
    public async Task A_batch_stores_the_valid_sends_reports_each_invalid_one_and_repeats_by_key()
    {
        await Ok(_client.PostAsJsonAsync("/v1/webhooks", new { url = _receiver.Url("events"), eventTypes = new[] { "notification.*" } }));
        object Item(string template, string user, string? priority = null, object? metadata = null) =>
            new { templateKey = template, recipients = new[] { new { userId = user } }, data = new { what = "x" }, priority, metadata };
        var batch = new
        {
            notifications = new[]
            {
                Item("reminder", "ann", metadata: new { orderId = "42", shop = "berlin" }),
                Item("no-such-template", "ann"),
                Item("reminder", "nobody"),
                Item("reminder", "bob", priority: "urgent"),
                Item("reminder", "bob", priority: "bulk"),
            },
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/notifications/batch") { Content = JsonContent.Create(batch) };
        request.Headers.Add("Idempotency-Key", "batch-1");
        var response = await _client.SendAsync(request);
        var body = await Ok(response);

        var results = body.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2, 3, 4], results.Select(r => r.GetProperty("index").GetInt32()));
        Assert.Equal([202, 422, 422, 400, 202], results.Select(r => r.GetProperty("status").GetInt32()));
        Assert.True(results[1].GetProperty("errors").TryGetProperty("templateKey", out _));
        Assert.True(results[2].GetProperty("errors").TryGetProperty("recipients[0].userId", out _));
        Assert.Contains("urgent", results[3].GetProperty("errors").GetProperty("priority")[0].GetString(), StringComparison.Ordinal);
        var first = results[0].GetProperty("notifications")[0].GetProperty("id").GetGuid();
        var bulk = results[4].GetProperty("notifications")[0].GetProperty("id").GetGuid();
        Assert.Equal("bulk", (await DetailsAsync(bulk)).GetProperty("priority").GetString());
        Assert.Equal("accepted", (await DetailsAsync(first)).GetProperty("timeline")[0].GetProperty("type").GetString());

        // The COPY path wrote both outbox rows of each stored send: its notification.accepted status event reaches the
        // tenant's webhook endpoint, and its request reaches the planner, which takes the notification on.
        await Notify.Testing.Eventually.WaitUntilAsync(() => Task.FromResult(WebhookTypes(first).Contains("notification.accepted")), Timeout);
        await Notify.Testing.Eventually.WaitUntilAsync(async () => (await DetailsAsync(first)).GetProperty("status").GetString() != "accepted", Timeout);

        // The same batch with the same key: the same answer, nothing new. A different batch with it: 409.
        using var repeat = new HttpRequestMessage(HttpMethod.Post, "/v1/notifications/batch") { Content = JsonContent.Create(batch) };
        repeat.Headers.Add("Idempotency-Key", "batch-1");
        Assert.Equal(body.GetRawText(), (await Ok(await _client.SendAsync(repeat))).GetRawText());
        using var other = new HttpRequestMessage(HttpMethod.Post, "/v1/notifications/batch")
        {
            Content = JsonContent.Create(new { notifications = new[] { Item("reminder", "bob") } }),
        };
        other.Headers.Add("Idempotency-Key", "batch-1");
        Assert.Equal(HttpStatusCode.Conflict, (await _client.SendAsync(other)).StatusCode);

        var page = await Ok(await _client.GetAsync("/v1/notifications?template=reminder&limit=200"));
        Assert.Equal(2, page.GetProperty("items").GetArrayLength());

        // Bad envelopes: too many sends, none at all.
        var tooMany = await _client.PostAsJsonAsync("/v1/notifications/batch", new { notifications = Enumerable.Repeat(Item("reminder", "bob"), 1001) });
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        var tooManyText = await tooMany.Content.ReadAsStringAsync();
        Assert.True(tooManyText.Contains("1001", StringComparison.Ordinal), tooManyText);
        var empty = await _client.PostAsJsonAsync("/v1/notifications/batch", new { notifications = Array.Empty<object>() });
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        page = await Ok(await _client.GetAsync("/v1/notifications?limit=200"));
        Assert.Equal(2, page.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Lists_filter_by_status_template_time_and_metadata_and_page_newest_first()
    {
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await SendAsync(new
            {
                templateKey = "reminder", recipients = new[] { new { userId = "bob" } }, data = new { what = "x" },
                metadata = new { orderId = i.ToString(System.Globalization.CultureInfo.InvariantCulture), kind = i % 2 == 0 ? "even" : "odd" },
            }));
        }

        ids.Add(await SendAsync(new { templateKey = "reminder", recipients = new[] { new { userId = "ann" } }, data = new { what = "x" } }));

        // Bob's, two at a time, newest first, following nextCursor.
        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await Ok(await _client.GetAsync($"/v1/users/bob/notifications?limit=2{(cursor is null ? "" : "&cursor=" + cursor)}"));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(n => n.GetProperty("id").GetGuid()));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        Assert.Equal(ids.Take(5).Reverse(), seen);

        var even = await Ok(await _client.GetAsync("/v1/notifications?metadata=" + Uri.EscapeDataString("""{"kind":"even"}""")));
        Assert.Equal([ids[4], ids[2], ids[0]], even.GetProperty("items").EnumerateArray().Select(n => n.GetProperty("id").GetGuid()));

        var from = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(-10).ToString("O"));
        var all = await Ok(await _client.GetAsync($"/v1/notifications?template=reminder&from={from}&limit=200"));
        Assert.Equal(6, all.GetProperty("items").GetArrayLength());
        var none = await Ok(await _client.GetAsync($"/v1/notifications?to={from}"));
        Assert.Equal(0, none.GetProperty("items").GetArrayLength());
        var cancelled = await Ok(await _client.GetAsync("/v1/notifications?status=cancelled"));
        Assert.Equal(0, cancelled.GetProperty("items").GetArrayLength());

        foreach (var (query, field) in new[]
                 {
                     ("status=nope", "status"), ("metadata=not-json", "metadata"), ("metadata=%5B1%5D", "metadata"), ("from=yesterday", "from"),
                     ("limit=0", "limit"), ("cursor=abc", "cursor"),
                 })
        {
            var bad = await _client.GetAsync($"/v1/notifications?{query}");
            Assert.True(bad.StatusCode == HttpStatusCode.BadRequest, $"{query}: {(int)bad.StatusCode}");
            var problem = await bad.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains(FieldsOf(problem), name => name.Equals(field, StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>The fields a problem details body names (FastEndpoints writes errors as an array of name/reason pairs).</summary>
    private static List<string> FieldsOf(JsonElement problem)
    {
        var errors = problem.GetProperty("errors");
        return errors.ValueKind == JsonValueKind.Array
            ? errors.EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToList()
            : errors.EnumerateObject().Select(e => e.Name).ToList();
    }

    private async Task<Guid> SendAsync(object body)
    {
        var response = await Ok(await _client.PostAsJsonAsync("/v1/notifications", body));
        return response.GetProperty("notifications")[0].GetProperty("id").GetGuid();
    }

    /// <summary>When the scheduled-release job takes the notification; null once it left <c>scheduled</c>.</summary>
    private async Task<DateTimeOffset?> ReleaseAtAsync(Guid id)
    {
        await using var command = _worker.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand(
            "SELECT release_at FROM delivery.notifications WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return await command.ExecuteScalarAsync() is DateTime at ? new DateTimeOffset(at, TimeSpan.Zero) : null;
    }

    private async Task<JsonElement> DetailsAsync(Guid id) => await Ok(await _client.GetAsync($"/v1/notifications/{id}"));

    /// <summary>
    /// The types of the webhook events about the notification, once per <c>webhook-id</c>: delivery is at least once, and
    /// a clock jumped forward while an event is on the wire expires its lease, so it may come twice with the same id.
    /// </summary>
    private List<string> WebhookTypes(Guid notificationId) => _receiver.Received("events")
        .DistinctBy(r => r.Headers["webhook-id"].ToString())
        .Select(r => JsonDocument.Parse(r.Body).RootElement)
        .Where(e => e.GetProperty("data").GetProperty("notificationId").GetGuid() == notificationId)
        .Select(e => e.GetProperty("type").GetString()!).ToList();

    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> read)
    {
        var value = default(T);
        await Notify.Testing.Eventually.WaitUntilAsync(async () => !Equals(value = await read(), default(T)), Timeout);
        return value!;
    }

    private static async Task<JsonElement> Ok(Task<HttpResponseMessage> call) => await Ok(await call);

    private static async Task<JsonElement> Ok(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement;
    }

    private static DateTimeOffset BerlinTime(DateTime date, TimeOnly time)
    {
        var local = DateTime.SpecifyKind(date.Date + time.ToTimeSpan(), DateTimeKind.Unspecified);
        return new DateTimeOffset(local, Berlin.GetUtcOffset(local)).ToUniversalTime();
    }
}
