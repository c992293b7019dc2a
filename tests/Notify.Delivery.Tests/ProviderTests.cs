using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Web;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Templates.Contracts;
using Notify.Testing;

namespace Notify.Delivery.Tests;

/// <summary>
/// Provider accounts and the SMS, push and webhook channels against real PostgreSQL, Redis and RabbitMQ, real API and
/// Worker hosts, and real local HTTP servers standing in for the providers (the adapters are pointed at them by base URL).
/// </summary>
[Collection(InfrastructureCollection.Name)]
public sealed class ProviderTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Everything the hosts log, at every level, and every span's tags: where a credential must never show up.</summary>
    private readonly ConcurrentQueue<string> _logs = new();
    private readonly ActivityListener _spans;
    private readonly DeliveryHosts _hosts;

    public ProviderTests(Infrastructure infrastructure)
    {
        _hosts = new(infrastructure, Settings) { Logging = logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(new CapturingLoggerProvider(_logs)) };
        _spans = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => _logs.Enqueue($"span {activity.OperationName} {activity.DisplayName} " +
                string.Join(' ', activity.TagObjects.Select(t => $"{t.Key}={t.Value}")) + " " + string.Join(' ', activity.Events.Select(e => e.Name))),
        };
        ActivitySource.AddActivityListener(_spans);
    }

    private static Dictionary<string, string?> Settings => new()
    {
        ["Notify:Providers:AllowPrivateAddresses"] = "true",
        ["Notify:Providers:PollInterval"] = "00:00:00.050",
        ["Notify:Providers:RetryDelay"] = "00:00:00.010",
        ["Notify:Providers:BaseBackoff"] = "00:00:01",
        ["Notify:Providers:ConfigurationCache"] = "00:00:00.200",
        // The email sender runs only with an SMTP server; this one is never reached (email goes through a provider here).
        ["ConnectionStrings:smtp"] = "smtp://127.0.0.1:9",
    };

    private ProviderStub _stub = null!;
    private HttpClient _client = null!;
    private Guid _tenant;

    public async Task InitializeAsync()
    {
        await _hosts.MigrateAsync();
        var api = await _hosts.StartApiAsync();
        (_tenant, var key) = await _hosts.CreateTenantAsync(api, "Providers");
        _client = DeliveryHosts.Client(api, key);
        _stub = await ProviderStub.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _spans.Dispose();
        _client.Dispose();
        await _hosts.DisposeAsync();
        await _stub.DisposeAsync();
    }

    [Fact]
    public async Task Provider_accounts_round_trip_with_credentials_write_only_and_encrypted_at_rest()
    {
        var token = $"tok_{Guid.NewGuid():N}";
        var created = await _client.PostAsJsonAsync("/v1/providers", Twilio("Twilio main", token));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var text = await created.Content.ReadAsStringAsync();
        Assert.DoesNotContain(token, text, StringComparison.Ordinal);
        var body = JsonDocument.Parse(text).RootElement;
        var id = body.GetProperty("id").GetGuid();
        Assert.Equal(["accountSid", "authToken"], body.GetProperty("credentialNames").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(_stub.BaseUrl, body.GetProperty("settings").GetProperty("baseUrl").GetString());

        var newToken = $"tok_{Guid.NewGuid():N}";
        var patched = await _client.PatchAsJsonAsync($"/v1/providers/{id}", new { priority = 5, credentials = new { authToken = newToken } });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var patchedText = await patched.Content.ReadAsStringAsync();
        Assert.DoesNotContain(newToken, patchedText, StringComparison.Ordinal);
        Assert.Equal(5, JsonDocument.Parse(patchedText).RootElement.GetProperty("priority").GetInt32());
        foreach (var read in new[] { await _client.GetStringAsync($"/v1/providers/{id}"), await _client.GetStringAsync("/v1/providers?channel=sms") })
        {
            Assert.Contains(id.ToString(), read, StringComparison.Ordinal);
            Assert.DoesNotContain(token, read, StringComparison.Ordinal);
            Assert.DoesNotContain(newToken, read, StringComparison.Ordinal);
        }

        var stored = await _hosts.WithDbAsync(db => db.Providers.AsNoTracking().SingleAsync(p => p.Id == id));
        Assert.NotNull(stored.ProtectedCredentials);
        Assert.DoesNotContain(newToken, stored.ProtectedCredentials, StringComparison.Ordinal);
        Assert.DoesNotContain("AC_test", stored.ProtectedCredentials, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/v1/providers/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v1/providers/{id}")).StatusCode);
    }

    [Fact]
    public async Task Bad_provider_input_gets_problems_naming_each_field_and_stores_nothing()
    {
        var wrongKind = await _client.PostAsJsonAsync("/v1/providers", new { channel = "sms", kind = "webhook", name = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, wrongKind.StatusCode);
        Assert.Contains("kind must be one of: twilio, http_sms, sink", await wrongKind.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var limits = await _client.PostAsJsonAsync("/v1/providers", new { channel = "fax", kind = "sink", name = "", ratePerSecond = 0, timeoutMs = 5 });
        Assert.Equal(HttpStatusCode.BadRequest, limits.StatusCode);
        var problems = await limits.Content.ReadAsStringAsync();
        foreach (var field in new[] { "channel", "name", "ratePerSecond", "timeoutMs" })
        {
            Assert.Contains(field, problems, StringComparison.OrdinalIgnoreCase);
        }

        var incomplete = await _client.PostAsJsonAsync("/v1/providers", new { channel = "sms", kind = "twilio", name = "t", credentials = new { accountSid = "AC1" } });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, incomplete.StatusCode);
        var detail = await incomplete.Content.ReadAsStringAsync();
        Assert.Contains("credentials.authToken", detail, StringComparison.Ordinal);
        Assert.Contains("settings.from", detail, StringComparison.Ordinal);

        Assert.Equal(0, await _hosts.WithDbAsync(db => db.Providers.CountAsync(p => p.TenantId == _tenant)));
    }

    [Fact]
    public async Task The_Twilio_adapter_posts_the_form_Twilio_expects_and_the_delivery_records_its_sid_provider_and_cost()
    {
        var id = await CreateProviderAsync(Twilio("Twilio", "secret-token", cost: 0.0079m));
        var (_, deliveryId) = (await QueueSmsAsync("+15551230001"))[0];
        await _hosts.StartWorkerAsync();

        var delivery = await WaitForDeliveryAsync(deliveryId, DeliveryStatus.Sent);

        var request = Assert.Single(_stub.Received);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/2010-04-01/Accounts/AC_test/Messages.json", request.Path);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("AC_test:secret-token")), request.Headers.Authorization.ToString());
        Assert.StartsWith("application/x-www-form-urlencoded", request.Headers.ContentType.ToString(), StringComparison.Ordinal);
        var form = HttpUtility.ParseQueryString(request.Body);
        Assert.Equal(("+15551230001", "+15550000000", "Your code is 1234 & more"), (form["To"], form["From"], form["Body"]));
        Assert.StartsWith("SM", delivery.ProviderMessageId, StringComparison.Ordinal);
        Assert.Equal((id, 0.0079m), (delivery.ProviderId, delivery.Cost));
    }

    [Fact]
    public async Task A_failing_provider_opens_its_circuit_traffic_flows_through_the_next_and_returns_after_the_break()
    {
        await using var stubB = await ProviderStub.StartAsync();
        var aUp = false;
        _stub.Respond = _ => Task.FromResult(Volatile.Read(ref aUp) ? (201, """{"sid":"SMa"}""") : (503, """{"code":20503,"message":"down"}"""));
        var a = await CreateProviderAsync(Twilio("A", "t", priority: 1, breakerFailures: 2, breakSeconds: 2));
        var bId = await CreateProviderAsync(Twilio("B", "t", priority: 2, baseUrl: stubB.BaseUrl));
        await _hosts.StartWorkerAsync();

        // The first message: A fails as often as its breaker allows (2 calls), the circuit opens, B carries it.
        var (_, firstId) = (await QueueSmsAsync("+15551000000"))[0];
        Assert.Equal(bId, (await WaitForDeliveryAsync(firstId, DeliveryStatus.Sent)).ProviderId);
        Assert.Equal(2, _stub.Received.Count);

        // While the circuit is open, A is not called at all: B carries the rest, each once.
        var more = await QueueSmsAsync([.. Enumerable.Range(1, 5).Select(i => $"+1555100{i:D4}")]);
        foreach (var (_, deliveryId) in more)
        {
            Assert.Equal(bId, (await WaitForDeliveryAsync(deliveryId, DeliveryStatus.Sent)).ProviderId);
        }

        Assert.Equal(2, _stub.Received.Count);
        Assert.Equal(6, stubB.Received.Count);
        Assert.Equal(6, stubB.Received.Select(r => HttpUtility.ParseQueryString(r.Body)["To"]).Distinct().Count());

        Volatile.Write(ref aUp, true);
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // the break runs out
        // The first message after the break is the trial call: A answers, the circuit closes, and A carries the rest again.
        var (_, trialId) = (await QueueSmsAsync("+15552000000"))[0];
        Assert.Equal(a, (await WaitForDeliveryAsync(trialId, DeliveryStatus.Sent)).ProviderId);
        var later = await QueueSmsAsync([.. Enumerable.Range(1, 3).Select(i => $"+1555200{i:D4}")]);
        foreach (var (_, deliveryId) in later)
        {
            Assert.Equal(a, (await WaitForDeliveryAsync(deliveryId, DeliveryStatus.Sent)).ProviderId);
        }

        Assert.Equal(6, stubB.Received.Count);
        Assert.Equal(4, _stub.Received.Count(r => (HttpUtility.ParseQueryString(r.Body)["To"] ?? "").StartsWith("+1555200", StringComparison.Ordinal)));

        // The health figures count every call: A failed twice and then answered four times, B answered all six.
        foreach (var (provider, attempts, succeeded) in new[] { (a, 6, 4), (bId, 6, 6) })
        {
            var health = JsonDocument.Parse(await _client.GetStringAsync($"/v1/providers/{provider}/health")).RootElement.GetProperty("windows");
            Assert.Equal(["1h", "24h", "7d"], health.EnumerateArray().Select(w => w.GetProperty("window").GetString()));
            Assert.All(health.EnumerateArray(), w =>
            {
                Assert.Equal((attempts, succeeded), (w.GetProperty("attempts").GetInt32(), w.GetProperty("succeeded").GetInt32()));
                Assert.Equal((double)succeeded / attempts, w.GetProperty("successRate").GetDouble(), 3);
                Assert.True(w.GetProperty("p95LatencyMs").GetDouble() >= w.GetProperty("p50LatencyMs").GetDouble());
            });
        }
    }

    [Fact]
    public async Task A_provider_rate_limit_holds_with_two_Workers_sending()
    {
        const int PerSecond = 5;
        await CreateProviderAsync(Twilio("Limited", "t", ratePerSecond: PerSecond));
        var queued = await QueueSmsAsync([.. Enumerable.Range(0, 24).Select(i => $"+1555300{i:D4}")]);
        await _hosts.StartWorkerAsync();
        await _hosts.StartWorkerAsync();

        foreach (var (_, deliveryId) in queued)
        {
            await WaitForDeliveryAsync(deliveryId, DeliveryStatus.Sent);
        }

        var arrivals = _stub.Received.Select(r => r.At).Order().ToList();
        Assert.Equal(24, arrivals.Count);
        // The limit spreads requests one every 200 ms by Redis's clock; the stub sees arrivals, which the network shifts by
        // a few milliseconds: one request of slack in any second. Without a shared limit two Workers would send 10 a second.
        var busiest = arrivals.Select(start => arrivals.Count(t => t >= start && t < start.AddSeconds(1))).Max();
        Assert.True(busiest <= PerSecond + 1, $"{busiest} requests in one second: {string.Join(", ", arrivals.Select(t => (int)(t - arrivals[0]).TotalMilliseconds))} ms");
        // One every 200 ms: 24 take at least 4.6 s.
        Assert.True(arrivals[^1] - arrivals[0] >= TimeSpan.FromSeconds(3.8), $"24 requests at {PerSecond}/s took only {arrivals[^1] - arrivals[0]}");
    }

    [Fact]
    public async Task A_signed_bounce_receipt_marks_the_delivery_bounced_and_suppresses_the_number_for_the_next_send()
    {
        var receiptSecret = WebhookSigner.NewSecret();
        var providerId = await CreateProviderAsync(new { channel = "sms", kind = "sink", name = "Sink", credentials = new { receiptSecret } });
        await CreatePublishedSmsTemplateAsync();
        Assert.True((await _client.PutAsJsonAsync("/v1/users/zoe", new { phone = "+15554440000" })).IsSuccessStatusCode);
        await _hosts.StartWorkerAsync();
        var first = await SendSmsAsync("zoe");
        var delivery = await WaitForDeliveryOfAsync(first, DeliveryStatus.Sent);
        var sink = JsonDocument.Parse(await _client.GetStringAsync($"/v1/sink-messages?providerId={providerId}")).RootElement.GetProperty("items");
        Assert.Equal("+15554440000", Assert.Single(sink.EnumerateArray()).GetProperty("address").GetString());

        var events = JsonSerializer.SerializeToUtf8Bytes(new { events = new[] { new { messageId = delivery.ProviderMessageId, type = "bounced", detail = "unknown subscriber" } } });
        var tampered = await PostReceiptAsync(providerId, events, receiptSecret, tamper: true);
        Assert.Equal(HttpStatusCode.Unauthorized, tampered.StatusCode);
        Assert.Equal(DeliveryStatus.Sent, (await DeliveryAsync(delivery.Id)).Status);

        var accepted = await PostReceiptAsync(providerId, events, receiptSecret);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal("applied", (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results")[0].GetProperty("outcome").GetString());
        Assert.Equal(DeliveryStatus.Bounced, (await DeliveryAsync(delivery.Id)).Status);

        // The next send to the number is recorded as suppressed, not sent.
        var second = await SendSmsAsync("zoe");
        var details = await WaitForNotificationAsync(second, "skipped");
        Assert.Contains(details.GetProperty("timeline").EnumerateArray(),
            e => e.GetProperty("type").GetString() == "channel_skipped" && e.GetProperty("detail").GetString()!.Contains("suppressed", StringComparison.Ordinal));
        Assert.Single(JsonDocument.Parse(await _client.GetStringAsync($"/v1/sink-messages?providerId={providerId}")).RootElement.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task A_Twilio_status_callback_is_applied_only_with_Twilios_signature()
    {
        var providerId = await CreateProviderAsync(Twilio("Twilio", "callback-token"));
        var (_, deliveryId) = (await QueueSmsAsync("+15556660000"))[0];
        await _hosts.StartWorkerAsync();
        var sid = (await WaitForDeliveryAsync(deliveryId, DeliveryStatus.Sent)).ProviderMessageId!;

        var form = new Dictionary<string, string> { ["MessageSid"] = sid, ["MessageStatus"] = "delivered", ["To"] = "+15556660000" };
        var url = new Uri(_client.BaseAddress!, $"/v1/providers/{providerId}/events").ToString();
        var forged = await PostTwilioAsync(url, form, TwilioSignature("wrong-token", url, form));
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);

        var signed = await PostTwilioAsync(url, form, TwilioSignature("callback-token", url, form));
        Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
        Assert.Equal(DeliveryStatus.Delivered, (await DeliveryAsync(deliveryId)).Status);
    }

    [Fact]
    public async Task The_webhook_channel_posts_the_rendered_body_to_the_recipients_URL_signed_like_Notifys_webhooks()
    {
        var secret = WebhookSigner.NewSecret();
        await CreateProviderAsync(new { channel = "webhook", kind = "webhook", name = "Webhooks", credentials = new { secret } });
        var content = new RenderedMessage(Channels.Webhook, "en", Body: """{"order":"A-1","state":"shipped"}""");
        var (_, deliveryId) = (await _hosts.QueueAsync(_tenant, Channels.Webhook, [(null, $"{_stub.BaseUrl}/orders/hook")], content))[0];
        _stub.Answer(200, "ok");
        await _hosts.StartWorkerAsync();

        var delivery = await WaitForDeliveryAsync(deliveryId, DeliveryStatus.Sent);

        var request = Assert.Single(_stub.Received);
        Assert.Equal(("/orders/hook", """{"order":"A-1","state":"shipped"}"""), (request.Path, request.Body));
        var id = request.Headers["webhook-id"].ToString();
        var timestamp = long.Parse(request.Headers["webhook-timestamp"].ToString(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal($"msg_{deliveryId:N}", id);
        Assert.Equal(WebhookSigner.Sign(id, timestamp, Encoding.UTF8.GetBytes(request.Body), [WebhookSigner.KeyOf(secret)]), request.Headers["webhook-signature"].ToString());
        Assert.Equal(id, delivery.ProviderMessageId);
    }

    [Fact]
    public async Task A_provider_that_goes_silent_after_the_whole_request_is_not_failed_over_from_and_the_message_counts_as_sent()
    {
        await using var stubB = await ProviderStub.StartAsync();
        _stub.Respond = async _ => { await Task.Delay(TimeSpan.FromSeconds(5)); return (201, """{"sid":"SMlate"}"""); };
        await CreateProviderAsync(Twilio("Slow", "t", priority: 1, timeoutMs: 500));
        await CreateProviderAsync(Twilio("Backup", "t", priority: 2, baseUrl: stubB.BaseUrl));
        var (notificationId, deliveryId) = (await QueueSmsAsync("+15557770000"))[0];
        await _hosts.StartWorkerAsync();

        await WaitForDeliveryAsync(deliveryId, DeliveryStatus.Sent);

        // The slow provider had the whole request: trying the backup could have sent it twice.
        Assert.Empty(stubB.Received);
        var sent = await _hosts.WithDbAsync(db => db.Events.AsNoTracking().SingleAsync(e => e.NotificationId == notificationId && e.Type == TimelineEvents.Sent));
        Assert.Contains("unconfirmed", sent.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Email_of_a_tenant_with_a_SendGrid_provider_goes_through_its_API_and_its_signed_event_webhook_suppresses_a_bounced_address()
    {
        _stub.Answer(202, "");
        _stub.Headers["X-Message-Id"] = "sg-message-1";
        // SendGrid signs its Event Webhook with this key pair's private half; the provider holds the public one.
        using var sendGridEvents = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var providerId = await CreateProviderAsync(new
        {
            channel = "email", kind = "sendgrid", name = "SendGrid", costPerMessage = 0.001m,
            settings = new { baseUrl = _stub.BaseUrl, from = "news@example.com", fromName = "Example News" },
            credentials = new { apiKey = "SG.test-key", eventWebhookKey = Convert.ToBase64String(sendGridEvents.ExportSubjectPublicKeyInfo()) },
        });
        var content = new RenderedMessage(Channels.Email, "en", Subject: "Hello Ann", Html: "<p>Hi Ann</p>", Text: "Hi Ann");
        var (_, deliveryId) = (await _hosts.QueueAsync(_tenant, Channels.Email, [("ann", "ann@example.com")], content, category: "marketing"))[0];
        await _hosts.StartWorkerAsync();

        var delivery = await WaitForDeliveryAsync(deliveryId, DeliveryStatus.Sent);

        var request = Assert.Single(_stub.Received);
        Assert.Equal(("POST", "/v3/mail/send", "Bearer SG.test-key"), (request.Method, request.Path, request.Headers.Authorization.ToString()));
        var mail = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal("ann@example.com", mail.GetProperty("personalizations")[0].GetProperty("to")[0].GetProperty("email").GetString());
        Assert.Equal(("news@example.com", "Example News", "Hello Ann"),
            (mail.GetProperty("from").GetProperty("email").GetString(), mail.GetProperty("from").GetProperty("name").GetString(), mail.GetProperty("subject").GetString()));
        Assert.Equal([("text/plain", "Hi Ann"), ("text/html", "<p>Hi Ann</p>")],
            mail.GetProperty("content").EnumerateArray().Select(c => (c.GetProperty("type").GetString(), c.GetProperty("value").GetString())));
        Assert.StartsWith("<http", mail.GetProperty("headers").GetProperty("List-Unsubscribe").GetString(), StringComparison.Ordinal);
        Assert.Equal("List-Unsubscribe=One-Click", mail.GetProperty("headers").GetProperty("List-Unsubscribe-Post").GetString());
        Assert.Equal(deliveryId.ToString(), mail.GetProperty("custom_args").GetProperty("notify_delivery_id").GetString());
        Assert.Equal(("sg-message-1", providerId, 0.001m), (delivery.ProviderMessageId, delivery.ProviderId, delivery.Cost));

        // SendGrid's signed Event Webhook: a hard bounce names the delivery through the custom argument sent with it.
        var events = JsonSerializer.SerializeToUtf8Bytes(new[]
        {
            new Dictionary<string, object> { ["email"] = "ann@example.com", ["event"] = "bounce", ["type"] = "bounce", ["reason"] = "550 5.1.1 no such user",
                ["sg_message_id"] = "sg-message-1.filter0001.1234.5678.0", ["notify_delivery_id"] = deliveryId.ToString() },
        });
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostSendGridEventsAsync(providerId, events, forger)).StatusCode);
        Assert.Equal(DeliveryStatus.Sent, (await DeliveryAsync(deliveryId)).Status);

        var accepted = await PostSendGridEventsAsync(providerId, events, sendGridEvents);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(DeliveryStatus.Bounced, (await DeliveryAsync(deliveryId)).Status);
        Assert.Contains("ann@example.com", await _client.GetStringAsync("/v1/suppressions"), StringComparison.OrdinalIgnoreCase);
    }

    private async Task<HttpResponseMessage> PostSendGridEventsAsync(Guid providerId, byte[] body, ECDsa key)
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var signature = key.SignData([.. Encoding.UTF8.GetBytes(timestamp), .. body], HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        using var anonymous = DeliveryHosts.Client(_client.BaseAddress!, null);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/providers/{providerId}/events") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("X-Twilio-Email-Event-Webhook-Timestamp", timestamp);
        request.Headers.Add("X-Twilio-Email-Event-Webhook-Signature", Convert.ToBase64String(signature));
        return await anonymous.SendAsync(request);
    }

    [Fact]
    public async Task Credentials_never_appear_in_API_answers_logs_or_traces()
    {
        var token = $"tok_{Guid.NewGuid():N}";
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"AC_test:{token}"));
        var calls = 0;
        // The provider fails once (an error is logged and traced), then accepts.
        _stub.Respond = _ => Task.FromResult(Interlocked.Increment(ref calls) == 1 ? (500, """{"code":20500,"message":"oops"}""") : (201, """{"sid":"SMok"}"""));
        var created = await _client.PostAsJsonAsync("/v1/providers", Twilio("Twilio", token));
        var providerId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var answers = new List<string>
        {
            await created.Content.ReadAsStringAsync(),
            await (await _client.PatchAsJsonAsync($"/v1/providers/{providerId}", new { name = "Renamed" })).Content.ReadAsStringAsync(),
            await _client.GetStringAsync($"/v1/providers/{providerId}"),
            await _client.GetStringAsync("/v1/providers"),
        };
        var (_, deliveryId) = (await QueueSmsAsync("+15558880000"))[0];
        await _hosts.StartWorkerAsync();
        await WaitForDeliveryAsync(deliveryId, DeliveryStatus.Sent);
        answers.Add(await (await PostTwilioAsync(new Uri(_client.BaseAddress!, $"/v1/providers/{providerId}/events").ToString(),
            new Dictionary<string, string> { ["MessageSid"] = "SMok", ["MessageStatus"] = "delivered" }, "forged")).Content.ReadAsStringAsync());

        Assert.Equal(2, Volatile.Read(ref calls)); // the failure and the retry really happened
        Assert.Contains(_logs, l => l.Contains("/v1/providers", StringComparison.Ordinal)); // the capture really saw the requests
        foreach (var text in answers.Concat(_logs))
        {
            Assert.DoesNotContain(token, text, StringComparison.Ordinal);
            Assert.DoesNotContain(basic, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Push_goes_to_each_device_through_FCM_with_an_access_token_from_the_service_accounts_signed_assertion()
    {
        using var key = RSA.Create(2048);
        var account = JsonSerializer.Serialize(new
        {
            type = "service_account", project_id = "demo-app", client_email = "notify@demo-app.iam.gserviceaccount.com",
            private_key = key.ExportPkcs8PrivateKeyPem(), token_uri = $"{_stub.BaseUrl}/token",
        });
        var tokensIssued = 0;
        _stub.Respond = request => Task.FromResult(request.Path switch
        {
            "/token" when AssertionValid(HttpUtility.ParseQueryString(request.Body), key, $"{_stub.BaseUrl}/token")
                => (200, $$"""{"access_token":"ya29.test-{{Interlocked.Increment(ref tokensIssued)}}","expires_in":3600,"token_type":"Bearer"}"""),
            "/token" => (400, """{"error":"invalid_grant"}"""),
            "/v1/projects/demo-app/messages:send" when request.Headers.Authorization == "Bearer ya29.test-1"
                => (200, $$"""{"name":"projects/demo-app/messages/{{Guid.NewGuid():N}}"}"""),
            _ => (401, """{"error":{"code":401,"status":"UNAUTHENTICATED"}}"""),
        });
        await CreateProviderAsync(new { channel = "push", kind = "fcm", name = "FCM", settings = new { baseUrl = _stub.BaseUrl }, credentials = new { serviceAccount = account } });
        var created = await _client.PostAsJsonAsync("/v1/templates", new
        {
            key = "shipped", name = "Shipped", category = "updates", channels = new[] { "push" }, defaultLocale = "en",
            variables = new object[] { new { name = "order", required = true } },
            variants = new[] { new { locale = "en", content = new { push = new { title = "Shipped", body = "Order {{ order }} is on its way", data = """{"order":"{{ order }}"}""" } } } },
        });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        Assert.True((await _client.PostAsync("/v1/templates/shipped/publish", null)).IsSuccessStatusCode);
        Assert.True((await _client.PutAsJsonAsync("/v1/users/pat", new { email = "pat@example.com" })).IsSuccessStatusCode);
        foreach (var token in new[] { "fcm-token-phone", "fcm-token-tablet" })
        {
            var device = await _client.PostAsJsonAsync("/v1/users/pat/devices", new { kind = "fcm", token });
            Assert.True(device.IsSuccessStatusCode, await device.Content.ReadAsStringAsync());
        }

        await _hosts.StartWorkerAsync();
        var sent = await _client.PostAsJsonAsync("/v1/notifications", new { templateKey = "shipped", recipients = new[] { new { userId = "pat" } }, data = new { order = "A-7" } });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var id = (await sent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("notifications")[0].GetProperty("id").GetGuid();
        await WaitForNotificationAsync(id, "sent");
        // One delivery per device; the notification is sent with the first, so wait for both.
        var deliveries = await _hosts.WithDbAsync(db => db.Deliveries.AsNoTracking().Where(d => d.NotificationId == id).ToListAsync());
        Assert.Equal(2, deliveries.Count);
        foreach (var delivery in deliveries)
        {
            await WaitForDeliveryAsync(delivery.Id, DeliveryStatus.Sent);
        }

        var messages = _stub.Received.Where(r => r.Path.EndsWith(":send", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, messages.Count);
        Assert.Equal(1, Volatile.Read(ref tokensIssued)); // one token for both messages
        var bodies = messages.Select(m => JsonDocument.Parse(m.Body).RootElement.GetProperty("message")).ToList();
        Assert.Equal(["fcm-token-phone", "fcm-token-tablet"], bodies.Select(b => b.GetProperty("token").GetString()).Order());
        Assert.All(bodies, b =>
        {
            Assert.Equal("Order A-7 is on its way", b.GetProperty("notification").GetProperty("body").GetString());
            Assert.Equal("A-7", b.GetProperty("data").GetProperty("order").GetString());
        });
    }

    [Fact]
    public async Task A_web_push_message_decrypts_with_an_independent_implementation_to_the_rendered_content_and_carries_a_valid_VAPID_token()
    {
        using var vapid = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var vapidKey = vapid.ExportParameters(true);
        byte[] vapidPublic = [0x04, .. vapidKey.Q.X!, .. vapidKey.Q.Y!];
        // The browser's side of the subscription.
        using var browser = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var browserKey = browser.ExportParameters(true);
        byte[] browserPublic = [0x04, .. browserKey.Q.X!, .. browserKey.Q.Y!];
        var auth = RandomNumberGenerator.GetBytes(16);
        await CreateProviderAsync(new
        {
            channel = "push", kind = "webpush", name = "Web Push", settings = new { subject = "mailto:ops@example.com" },
            credentials = new { vapidPublicKey = Base64Url(vapidPublic), vapidPrivateKey = Base64Url(vapidKey.D!) },
        });
        var endpoint = $"{_stub.BaseUrl}/push/subscription-1";
        var device = JsonSerializer.Serialize(new { id = Guid.NewGuid(), kind = "webpush", token = endpoint, p256dh = Base64Url(browserPublic), auth = Base64Url(auth) });
        var content = new RenderedMessage(Channels.Push, "en", Title: "Shipped", Body: "Order A-7 is on its way", Data: """{"order":"A-7"}""");
        var (_, deliveryId) = (await _hosts.QueueAsync(_tenant, Channels.Push, [(null, endpoint)], content, device: device))[0];
        await _hosts.StartWorkerAsync();

        await WaitForDeliveryAsync(deliveryId, DeliveryStatus.Sent);

        var request = Assert.Single(_stub.Received);
        Assert.Equal("/push/subscription-1", request.Path);
        Assert.Equal("aes128gcm", request.Headers.ContentEncoding.ToString());
        var plaintext = await DecryptWithNodeAsync(request.Bytes, browserKey.D!, auth);
        var message = JsonDocument.Parse(plaintext).RootElement;
        Assert.Equal(("Shipped", "Order A-7 is on its way", "A-7"),
            (message.GetProperty("title").GetString(), message.GetProperty("body").GetString(), message.GetProperty("data").GetProperty("order").GetString()));

        // RFC 8292: "vapid t=<ES256 JWT for the push service's origin>, k=<the VAPID public key>".
        var authorization = request.Headers.Authorization.ToString();
        Assert.StartsWith("vapid t=", authorization, StringComparison.Ordinal);
        Assert.EndsWith($", k={Base64Url(vapidPublic)}", authorization, StringComparison.Ordinal);
        var jwt = authorization["vapid t=".Length..authorization.IndexOf(',', StringComparison.Ordinal)].Split('.');
        Assert.True(vapid.VerifyData(Encoding.ASCII.GetBytes($"{jwt[0]}.{jwt[1]}"), FromBase64Url(jwt[2]), HashAlgorithmName.SHA256));
        var claims = JsonDocument.Parse(FromBase64Url(jwt[1])).RootElement;
        Assert.Equal((_stub.BaseUrl, "mailto:ops@example.com"), (claims.GetProperty("aud").GetString(), claims.GetProperty("sub").GetString()));
    }

    /// <summary>The http_ece npm package (installed by the test command) decrypts the body, knowing only the browser's keys.</summary>
    private static async Task<string> DecryptWithNodeAsync(byte[] body, byte[] privateKey, byte[] auth)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Notify.sln")))
        {
            directory = directory.Parent;
        }

        var check = Path.Combine(directory!.FullName, "tests", "Notify.Delivery.Tests", "WebPushCheck");
        var start = new System.Diagnostics.ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = check };
        foreach (var argument in new[] { "decrypt.js", Convert.ToBase64String(body), Base64Url(privateKey), Base64Url(auth) })
        {
            start.ArgumentList.Add(argument);
        }

        using var node = System.Diagnostics.Process.Start(start)!;
        var output = await node.StandardOutput.ReadToEndAsync();
        var error = await node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync();
        Assert.True(node.ExitCode == 0, $"node decrypt.js failed: {error}");
        return output;
    }

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static byte[] FromBase64Url(string text) => System.Buffers.Text.Base64Url.DecodeFromChars(text);

    /// <summary>What Google's token endpoint checks: an RS256 JWT from the service account, for the messaging scope, to this endpoint.</summary>
    private static bool AssertionValid(System.Collections.Specialized.NameValueCollection form, RSA key, string audience)
    {
        if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer" || form["assertion"]?.Split('.') is not [var header, var claims, var signature])
        {
            return false;
        }

        var signed = key.VerifyData(Encoding.ASCII.GetBytes($"{header}.{claims}"), FromBase64Url(signature), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var payload = JsonDocument.Parse(FromBase64Url(claims)).RootElement;
        return signed && JsonDocument.Parse(FromBase64Url(header)).RootElement.GetProperty("alg").GetString() == "RS256"
            && payload.GetProperty("iss").GetString() == "notify@demo-app.iam.gserviceaccount.com"
            && payload.GetProperty("aud").GetString() == audience
            && payload.GetProperty("scope").GetString() == "https://www.googleapis.com/auth/firebase.messaging"
            && payload.GetProperty("exp").GetInt64() > DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    private object Twilio(string name, string token, decimal? cost = null, int priority = 0, int breakerFailures = 5, int breakSeconds = 30,
        int? ratePerSecond = null, string? baseUrl = null, int timeoutMs = 10_000) => new
    {
        channel = "sms", kind = "twilio", name, priority, costPerMessage = cost, breakerFailures, breakSeconds, ratePerSecond, timeoutMs,
        settings = new { baseUrl = baseUrl ?? _stub.BaseUrl, from = "+15550000000" },
        credentials = new { accountSid = "AC_test", authToken = token },
    };

    private async Task<Guid> CreateProviderAsync(object provider)
    {
        var response = await _client.PostAsJsonAsync("/v1/providers", provider);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private Task<List<(Guid NotificationId, Guid DeliveryId)>> QueueSmsAsync(params string[] numbers) =>
        _hosts.QueueAsync(_tenant, Channels.Sms, [.. numbers.Select(n => ((string?)null, (string?)n))],
            new RenderedMessage(Channels.Sms, "en", Text: "Your code is 1234 & more"));

    private Task<ChannelDelivery> DeliveryAsync(Guid deliveryId) =>
        _hosts.WithDbAsync(db => db.Deliveries.AsNoTracking().SingleAsync(d => d.Id == deliveryId));

    private async Task<ChannelDelivery> WaitForDeliveryAsync(Guid deliveryId, string status)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var delivery = await DeliveryAsync(deliveryId);
            if (delivery.Status == status)
            {
                return delivery;
            }

            Assert.True(DateTime.UtcNow < deadline, $"delivery {deliveryId} is {delivery.Status} ({delivery.LastError}), not {status}");
            await Task.Delay(100);
        }
    }

    private async Task<ChannelDelivery> WaitForDeliveryOfAsync(Guid notificationId, string status)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            if (await _hosts.WithDbAsync(db => db.Deliveries.AsNoTracking().SingleOrDefaultAsync(d => d.NotificationId == notificationId)) is { } delivery)
            {
                return await WaitForDeliveryAsync(delivery.Id, status);
            }

            Assert.True(DateTime.UtcNow < deadline, $"notification {notificationId} got no delivery");
            await Task.Delay(100);
        }
    }

    private async Task<JsonElement> WaitForNotificationAsync(Guid id, string status)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var details = JsonDocument.Parse(await _client.GetStringAsync($"/v1/notifications/{id}")).RootElement;
            if (details.GetProperty("status").GetString() == status)
            {
                return details;
            }

            Assert.True(DateTime.UtcNow < deadline, $"notification {id} is {details.GetProperty("status")}, not {status}");
            await Task.Delay(100);
        }
    }

    private async Task CreatePublishedSmsTemplateAsync()
    {
        var created = await _client.PostAsJsonAsync("/v1/templates", new
        {
            key = "code",
            name = "Code",
            category = "updates",
            channels = new[] { "sms" },
            defaultLocale = "en",
            variants = new[] { new { locale = "en", content = new { sms = new { text = "Your code is 42" } } } },
        });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        Assert.True((await _client.PostAsync("/v1/templates/code/publish", null)).IsSuccessStatusCode);
    }

    private async Task<Guid> SendSmsAsync(string userId)
    {
        var response = await _client.PostAsJsonAsync("/v1/notifications", new { templateKey = "code", recipients = new[] { new { userId } } });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("notifications")[0].GetProperty("id").GetGuid();
    }

    private async Task<HttpResponseMessage> PostReceiptAsync(Guid providerId, byte[] body, string secret, bool tamper = false)
    {
        var id = $"msg_{Guid.NewGuid():N}";
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var signature = WebhookSigner.Sign(id, timestamp, body, [WebhookSigner.KeyOf(secret)]);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/providers/{providerId}/events") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("webhook-id", id);
        request.Headers.Add("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", tamper ? signature[..^4] + "AAA=" : signature);
        using var anonymous = DeliveryHosts.Client(_client.BaseAddress!, null);
        return await anonymous.SendAsync(request);
    }

    private async Task<HttpResponseMessage> PostTwilioAsync(string url, Dictionary<string, string> form, string signature)
    {
        using var anonymous = DeliveryHosts.Client(_client.BaseAddress!, null);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", signature);
        return await anonymous.SendAsync(request);
    }

    /// <summary>Twilio's scheme, written from its documentation: HMAC-SHA1 over the URL and the sorted form fields.</summary>
    private static string TwilioSignature(string token, string url, Dictionary<string, string> form)
    {
        var data = url + string.Concat(form.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + p.Value));
        return Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(data)));
    }
}

/// <summary>Keeps every log line (message, state and exception) for the credential grep.</summary>
internal sealed class CapturingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Capturing(categoryName, lines);

    public void Dispose()
    {
    }

    private sealed class Capturing(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            lines.Enqueue($"{category} scope {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{category} {logLevel} {formatter(state, exception)} {state} {exception}");
    }
}
