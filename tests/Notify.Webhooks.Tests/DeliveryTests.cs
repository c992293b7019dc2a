using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Webhooks.Dispatch;
using Notify.Modules.Webhooks.Domain;
using Notify.Testing;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace Notify.Webhooks.Tests;

/// <summary>
/// Webhooks from the API through the Worker to a real HTTP receiver: signatures, retries, the attempt log,
/// disabling, and isolation of slow endpoints. Retries here wait a second (the schedule is configuration).
/// </summary>
public sealed class DeliveryTests(Infrastructure infrastructure) : WebhookTestBase(infrastructure)
{
    internal override Dictionary<string, string?>? WorkerSettings => NotifyHosts.FastWebhooks(
        ("DisableAfterConsecutiveFailures", "3"), ("MaxConcurrencyPerEndpoint", "2"), ("MaxConcurrency", "6"), ("AttemptTimeout", "00:00:01"));

    [Fact]
    public async Task Signatures_verify_with_the_StandardWebhooks_library_also_during_a_secret_rotation()
    {
        using var client = Hosts.Client();
        var (id, secret) = await client.CreateWebhookAsync(Receiver.Url("signed"), "notification.*");

        var queued = await client.SendTestAsync(id);
        await Api.WaitUntilAsync(() => Task.FromResult(Receiver.Received("signed").Count == 1));
        var first = Receiver.Received("signed")[0];
        new StandardWebhook(secret).Verify(first.Body, first.Headers);
        Assert.Throws<WebhookVerificationException>(() => new StandardWebhook("whsec_" + Convert.ToBase64String(new byte[32])).Verify(first.Body, first.Headers));
        Assert.Equal("msg_" + queued.GetProperty("eventId").GetGuid().ToString("N"), first.Headers["webhook-id"].ToString());

        var body = JsonDocument.Parse(first.Body).RootElement;
        Assert.Equal("webhook.test", body.GetProperty("type").GetString());
        Assert.True(body.TryGetProperty("timestamp", out _));
        Assert.Equal(id, body.GetProperty("data").GetProperty("endpointId").GetGuid());

        var rotation = await client.PostAsync($"/v1/webhooks/{id}/rotate-secret", null);
        Assert.Equal(HttpStatusCode.OK, rotation.StatusCode);
        var rotated = await rotation.Content.ReadFromJsonAsync<JsonElement>();
        var newSecret = rotated.GetProperty("secret").GetString()!;
        Assert.NotEqual(secret, newSecret);
        Assert.StartsWith("whsec_", newSecret, StringComparison.Ordinal);
        Assert.InRange(rotated.GetProperty("previousSecretExpiresAt").GetDateTimeOffset() - DateTimeOffset.UtcNow, TimeSpan.FromHours(23.9), TimeSpan.FromHours(24));

        await client.SendTestAsync(id);
        await Api.WaitUntilAsync(() => Task.FromResult(Receiver.Received("signed").Count == 2));
        var second = Receiver.Received("signed")[1];
        // Both secrets sign during the overlap (new first), so a receiver on either one accepts the webhook.
        var signatures = second.Headers["webhook-signature"].ToString().Split(' ');
        Assert.Equal(2, signatures.Length);
        new StandardWebhook(newSecret).Verify(second.Body, second.Headers);
        // This library compares only the first signature of the header (the spec allows several), so each one is
        // also checked on its own: the second is the old secret's valid Standard Webhooks signature.
        new StandardWebhook(secret).Verify(second.Body, WithSignature(second.Headers, signatures[1]));
        Assert.Throws<WebhookVerificationException>(() => new StandardWebhook(secret).Verify(second.Body, WithSignature(second.Headers, signatures[0])));
    }

    private static HeaderDictionary WithSignature(IHeaderDictionary headers, string signature) => new(headers.ToDictionary())
    {
        ["webhook-signature"] = signature,
    };

    [Fact]
    public async Task AReceiver_that_fails_twice_gets_the_event_on_the_third_attempt_and_the_log_shows_all_three()
    {
        Receiver.On("flaky", n => n <= 2 ? 500 : 200);
        using var client = Hosts.Client();
        var (id, secret) = await client.CreateWebhookAsync(Receiver.Url("flaky"), "*");

        var eventId = (await client.SendTestAsync(id)).GetProperty("eventId").GetGuid();
        await Api.WaitUntilAsync(async () => (await client.AttemptsAsync(id)).Count == 3);

        var attempts = await client.AttemptsAsync(id);
        Assert.Equal([1, 2, 3], attempts.Select(a => a.GetProperty("attemptNumber").GetInt32()));
        Assert.Equal([500, 500, 200], attempts.Select(a => a.GetProperty("statusCode").GetInt32()));
        Assert.Equal([false, false, true], attempts.Select(a => a.GetProperty("succeeded").GetBoolean()));
        Assert.All(attempts, a => Assert.Equal(eventId, a.GetProperty("eventId").GetGuid()));
        Assert.Equal("hook flaky call 1", attempts[0].GetProperty("responseBody").GetString());
        Assert.Equal("HTTP 500", attempts[0].GetProperty("error").GetString());

        var received = Receiver.Received("flaky");
        Assert.Equal(3, received.Count);
        // The same message each time, re-signed per attempt; retries waited the scheduled second.
        Assert.Single(received.Select(r => r.Headers["webhook-id"].ToString()).Distinct());
        Assert.Single(received.Select(r => r.Body).Distinct());
        Assert.All(received, r => new StandardWebhook(secret).Verify(r.Body, r.Headers));
        Assert.True(received[1].At - received[0].At >= TimeSpan.FromSeconds(0.9));
        Assert.True(received[2].At - received[1].At >= TimeSpan.FromSeconds(0.9));
        Assert.Equal(DeliveryStatus.Succeeded, await Hosts.QueryAsync(db => db.Deliveries.Where(d => d.EndpointId == id).Select(d => d.Status).SingleAsync()));
    }

    [Fact]
    public async Task Redirects_are_not_followed_and_only_the_start_of_a_response_body_is_kept()
    {
        Receiver.On("redirecting", _ => 307);
        Receiver.Answer("chatty", new string('x', 10_000));
        using var client = Hosts.Client();
        var (redirecting, _) = await client.CreateWebhookAsync(Receiver.Url("redirecting"), "*");
        var (chatty, _) = await client.CreateWebhookAsync(Receiver.Url("chatty"), "*");

        await client.SendTestAsync(redirecting);
        await client.SendTestAsync(chatty);
        await Api.WaitUntilAsync(async () => (await client.AttemptsAsync(redirecting)).Count > 0 && (await client.AttemptsAsync(chatty)).Count > 0);

        var redirected = (await client.AttemptsAsync(redirecting))[0];
        Assert.Equal(307, redirected.GetProperty("statusCode").GetInt32());
        Assert.False(redirected.GetProperty("succeeded").GetBoolean());
        Assert.Empty(Receiver.Received("redirect-target"));
        Assert.Equal(4096, (await client.AttemptsAsync(chatty))[0].GetProperty("responseBody").GetString()!.Length);
    }

    [Fact]
    public async Task Gone_disables_the_endpoint_and_the_tenant_is_told_by_a_webhook_disabled_event_and_an_audit_entry()
    {
        var (_, adminKey) = await Hosts.CreateTenantAsync("Gone Ltd");
        using var client = Hosts.Client(adminKey);
        Receiver.On("gone", _ => 410);
        var (gone, _) = await client.CreateWebhookAsync(Receiver.Url("gone"), "*");
        await client.CreateWebhookAsync(Receiver.Url("watcher"), "webhook.*");

        await client.SendTestAsync(gone);
        await Api.WaitUntilAsync(async () => !(await client.GetJsonAsync($"/v1/webhooks/{gone}")).GetProperty("enabled").GetBoolean());

        var endpoint = await client.GetJsonAsync($"/v1/webhooks/{gone}");
        Assert.Contains("410", endpoint.GetProperty("disabledReason").GetString(), StringComparison.Ordinal);
        Assert.Single(await client.AttemptsAsync(gone)); // no retries after 410

        await Api.WaitUntilAsync(() => Task.FromResult(Receiver.Received("watcher").Count == 1));
        var disabled = JsonDocument.Parse(Receiver.Received("watcher")[0].Body).RootElement;
        Assert.Equal("webhook.disabled", disabled.GetProperty("type").GetString());
        Assert.Equal(gone, disabled.GetProperty("data").GetProperty("endpointId").GetGuid());

        await Api.WaitUntilAsync(async () =>
            (await client.GetJsonAsync("/v1/audit-log?action=webhook.disabled")).GetProperty("items").GetArrayLength() == 1);
        var audit = (await client.GetJsonAsync("/v1/audit-log?action=webhook.disabled")).GetProperty("items")[0];
        Assert.Equal("webhook", audit.GetProperty("resourceType").GetString());
        Assert.Equal(gone.ToString(), audit.GetProperty("resourceId").GetString());

        // A test event to a disabled endpoint is refused until it is enabled again.
        await Api.IsProblemAsync(await client.PostAsync($"/v1/webhooks/{gone}/test", null), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task A_run_of_failures_disables_the_endpoint()
    {
        Receiver.On("broken", _ => 503);
        using var client = Hosts.Client();
        var (id, _) = await client.CreateWebhookAsync(Receiver.Url("broken"), "*");

        await client.SendTestAsync(id);
        await Api.WaitUntilAsync(async () => !(await client.GetJsonAsync($"/v1/webhooks/{id}")).GetProperty("enabled").GetBoolean());

        Assert.Equal("3 attempts in a row failed.", (await client.GetJsonAsync($"/v1/webhooks/{id}")).GetProperty("disabledReason").GetString());
        Assert.Equal(3, (await client.AttemptsAsync(id)).Count);

        // The endpoint recovers. Enabling it again clears the run, and the delivery held back while it was disabled
        // (one retry left) goes out. The receiver answers 200 before the PATCH, so the retry cannot start a new run.
        Receiver.On("broken", _ => 200);
        var enabled = await client.PatchAsJsonAsync($"/v1/webhooks/{id}", new { enabled = true });
        var body = await enabled.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(body.GetProperty("enabled").GetBoolean());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("disabledReason").ValueKind);
        Assert.Equal(0, await Hosts.QueryAsync(db => db.Endpoints.Where(e => e.Id == id).Select(e => e.ConsecutiveFailures).SingleAsync()));

        await Api.WaitUntilAsync(async () => (await client.AttemptsAsync(id)).Count == 4);
        Assert.Equal([false, false, false, true], (await client.AttemptsAsync(id)).Select(a => a.GetProperty("succeeded").GetBoolean()));
    }

    [Fact]
    public async Task A_slow_endpoint_does_not_delay_deliveries_to_a_healthy_one()
    {
        var (tenantId, adminKey) = await Hosts.CreateTenantAsync("Mixed Ltd");
        using var client = Hosts.Client(adminKey);
        // Never answers within the 1 s attempt timeout; two attempts at a time at most.
        Receiver.On("slow", async (_, ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), ct);
            return 200;
        });
        await client.CreateWebhookAsync(Receiver.Url("slow"), "notification.*");
        await client.CreateWebhookAsync(Receiver.Url("healthy"), "notification.*");

        const int events = 20;
        var clock = Stopwatch.StartNew();
        await Hosts.EventsAsync(tenantId, Enumerable.Range(1, events).Select(i => ("notification.sent", (object)new { notificationId = i })).ToArray());
        await Api.WaitUntilAsync(() => Task.FromResult(Receiver.Received("healthy").Count == events));
        var healthyDone = clock.Elapsed;

        // Serving the slow endpoint alone takes 20 events / 2 slots x 1 s = 10 s; the healthy one finished long before.
        Assert.True(healthyDone < TimeSpan.FromSeconds(4), $"healthy endpoint took {healthyDone}");
        var slowAttempts = await Hosts.QueryAsync(db => db.Attempts.CountAsync(a => a.TenantId == tenantId && a.Error != null && a.Error.StartsWith("Timed out")));
        Assert.True(slowAttempts < events, $"{slowAttempts} slow attempts had already timed out");
    }

    [Fact]
    public async Task A_tenant_without_endpoints_keeps_none_of_its_events()
    {
        var (tenantId, _) = await Hosts.CreateTenantAsync("No Hooks Ltd");
        long consumed = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "notify.inbox.consumed")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (tags.ToArray().Any(t => t.Key == "queue" && (string?)t.Value == WebhookEventHandler.Queue))
            {
                Interlocked.Add(ref consumed, value);
            }
        });
        listener.Start();
        var ids = await Hosts.EventsAsync(tenantId, ("notification.accepted", new { notificationId = "n1" }), ("notification.sent", new { notificationId = "n1" }));

        // Handled, and nothing stored, not even the consumer's inbox rows: no endpoint could receive or replay them.
        await Api.WaitUntilAsync(() => Task.FromResult(Interlocked.Read(ref consumed) >= 2));
        Assert.Equal(0, await Hosts.QueryAsync(async db => await db.Database
            .SqlQuery<int>($"SELECT count(*)::int AS \"Value\" FROM webhooks.inbox_messages WHERE message_id = ANY({ids.ToArray()})").SingleAsync()));
        Assert.Equal(0, await Hosts.QueryAsync(db => db.Events.CountAsync(e => e.TenantId == tenantId)));
    }

    [Fact]
    public async Task Events_from_other_modules_reach_the_endpoints_whose_filters_match()
    {
        var (tenantId, adminKey) = await Hosts.CreateTenantAsync("Filters Ltd");
        using var client = Hosts.Client(adminKey);
        var (_, secret) = await client.CreateWebhookAsync(Receiver.Url("notifications"), "notification.*");
        await client.CreateWebhookAsync(Receiver.Url("sent-only"), "notification.sent");
        await client.CreateWebhookAsync(Receiver.Url("exports"), "export.completed");

        await Hosts.EventsAsync(tenantId,
            ("notification.sent", new { notificationId = "n1", channel = "email" }),
            ("recipient.unsubscribed", new { userId = "u1" }),
            ("notification.delivered", new { notificationId = "n1", channel = "email" }));

        await Api.WaitUntilAsync(() => Task.FromResult(Receiver.Received("notifications").Count == 2 && Receiver.Received("sent-only").Count == 1));
        var types = Receiver.Received("notifications").Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("type").GetString()).Order().ToList();
        Assert.Equal(["notification.delivered", "notification.sent"], types);
        var sent = JsonDocument.Parse(Receiver.Received("sent-only")[0].Body).RootElement;
        Assert.Equal("n1", sent.GetProperty("data").GetProperty("notificationId").GetString());
        Assert.Equal("email", sent.GetProperty("data").GetProperty("channel").GetString());
        Assert.All(Receiver.Received("notifications"), r => new StandardWebhook(secret).Verify(r.Body, r.Headers));
        // One event, one webhook-id, whichever endpoint gets it.
        Assert.Contains(Receiver.Received("notifications"), r => r.Headers["webhook-id"] == Receiver.Received("sent-only")[0].Headers["webhook-id"]);
        Assert.Empty(Receiver.Received("exports"));
    }
}
