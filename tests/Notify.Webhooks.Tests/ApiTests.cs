using System.Text.Json;
using Notify.Modules.Access.Contracts;
using Notify.Testing;

namespace Notify.Webhooks.Tests;

/// <summary>The webhooks API: CRUD, validation as problem details, tenancy and scopes, the attempt log, retry and replay.</summary>
public sealed class ApiTests(Infrastructure infrastructure) : WebhookTestBase(infrastructure)
{
    [Fact]
    public async Task The_secret_is_shown_on_creation_only_and_endpoints_can_be_changed_and_deleted()
    {
        using var client = Hosts.Client();
        var created = await client.PostAsJsonAsync("/v1/webhooks", new
        {
            url = Receiver.Url("crud"),
            description = "Orders service",
            eventTypes = new[] { "notification.*", "export.completed" },
            headers = new Dictionary<string, string> { ["X-Api-Token"] = "t0ken" },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var id = body.GetProperty("webhook").GetProperty("id").GetGuid();
        Assert.Matches("^whsec_[A-Za-z0-9+/]{43}=$", body.GetProperty("secret").GetString());
        Assert.Equal($"/v1/webhooks/{id}", created.Headers.Location?.OriginalString);

        var fetched = await client.GetJsonAsync($"/v1/webhooks/{id}");
        Assert.False(fetched.TryGetProperty("secret", out _));
        Assert.Equal("Orders service", fetched.GetProperty("description").GetString());
        Assert.Equal(["notification.*", "export.completed"], fetched.GetProperty("eventTypes").EnumerateArray().Select(e => e.GetString()));
        Assert.True(fetched.GetProperty("enabled").GetBoolean());
        Assert.Contains(id, (await client.GetJsonAsync("/v1/webhooks")).GetProperty("items").EnumerateArray().Select(w => w.GetProperty("id").GetGuid()));

        var patched = await client.PatchAsJsonAsync($"/v1/webhooks/{id}", new { eventTypes = new[] { "*" }, headers = new Dictionary<string, string> { ["X-Other"] = "2" } });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var changed = await patched.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["*"], changed.GetProperty("eventTypes").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("Orders service", changed.GetProperty("description").GetString());

        // Custom headers travel with every webhook.
        await client.SendTestAsync(id);
        await Api.WaitUntilAsync(() => Task.FromResult(Receiver.Received("crud").Count == 1));
        Assert.Equal("2", Receiver.Received("crud")[0].Headers["X-Other"].ToString());
        Assert.False(Receiver.Received("crud")[0].Headers.ContainsKey("X-Api-Token"));

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/webhooks/{id}")).StatusCode);
        await Api.IsProblemAsync(await client.GetAsync($"/v1/webhooks/{id}"), HttpStatusCode.NotFound);
        await Api.IsProblemAsync(await client.DeleteAsync($"/v1/webhooks/{id}"), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{"url":"ftp://example.com/x","eventTypes":["*"]}""", "url")]
    [InlineData("""{"url":"https://example.com/x","eventTypes":[]}""", "eventTypes")]
    [InlineData("""{"url":"https://example.com/x","eventTypes":["notification.nope"]}""", "eventTypes[0]")]
    [InlineData("""{"url":"https://example.com/x","eventTypes":["*"],"headers":{"webhook-signature":"x"}}""", "headers[0]")]
    [InlineData("""{"url":"https://example.com/x","eventTypes":["*"],"headers":{"X-Bad":"a\nb"}}""", "headers[0]")]
    [InlineData("""{"url":"https://example.com/x"}""", "eventTypes")]
    public async Task Invalid_endpoints_are_refused_with_field_errors(string json, string field)
    {
        using var client = Hosts.Client();
        var response = await client.PostAsync("/v1/webhooks", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        var problem = await Api.IsProblemAsync(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors").EnumerateArray().ToList();
        Assert.Contains(errors, e => string.Equals(e.GetProperty("name").GetString(), field, StringComparison.OrdinalIgnoreCase));
        Assert.All(errors, e => Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("reason").GetString())));
    }

    [Fact]
    public async Task Another_tenants_endpoint_is_not_found_and_keys_need_the_webhooks_scope()
    {
        using var system = Hosts.Client();
        var (id, _) = await system.CreateWebhookAsync(Receiver.Url("mine"), "*");

        var (_, otherAdmin) = await Hosts.CreateTenantAsync("Other Ltd");
        using var other = Hosts.Client(otherAdmin);
        await Api.IsProblemAsync(await other.GetAsync($"/v1/webhooks/{id}"), HttpStatusCode.NotFound);
        await Api.IsProblemAsync(await other.PostAsync($"/v1/webhooks/{id}/test", null), HttpStatusCode.NotFound);
        Assert.DoesNotContain(id, (await other.GetJsonAsync("/v1/webhooks")).GetProperty("items").EnumerateArray().Select(w => w.GetProperty("id").GetGuid()));

        var keyResponse = await other.PostAsJsonAsync("/v1/api-keys", new { name = "templates only", scopes = new[] { ApiScopes.TemplatesWrite } });
        var templatesKey = (await keyResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString();
        using var limited = Hosts.Client(templatesKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await limited.GetAsync("/v1/webhooks")).StatusCode);
    }

    [Fact]
    public async Task The_attempt_log_pages_with_a_cursor_and_an_attempt_can_be_retried()
    {
        using var client = Hosts.Client();
        var (id, _) = await client.CreateWebhookAsync(Receiver.Url("paged"), "*");
        for (var i = 0; i < 3; i++)
        {
            await client.SendTestAsync(id);
        }

        await Api.WaitUntilAsync(async () => (await client.AttemptsAsync(id)).Count == 3);
        var first = await client.GetJsonAsync($"/v1/webhooks/{id}/attempts?limit=2");
        Assert.Equal(2, first.GetProperty("items").GetArrayLength());
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = await client.GetJsonAsync($"/v1/webhooks/{id}/attempts?limit=2&cursor={cursor}");
        Assert.Equal(1, second.GetProperty("items").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);
        var oldest = second.GetProperty("items")[0];
        Assert.Equal(200, oldest.GetProperty("statusCode").GetInt32());
        Assert.True(oldest.GetProperty("durationMs").GetInt32() >= 0);

        var retry = await client.PostAsync($"/v1/webhooks/{id}/attempts/{oldest.GetProperty("id").GetGuid()}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        await Api.WaitUntilAsync(async () => (await client.AttemptsAsync(id)).Count == 4);
        // The retry resends the retried attempt's event under the same webhook-id. The three tests were sent
        // concurrently, so which of them arrived first says nothing; the event id does.
        var received = Receiver.Received("paged");
        var retriedId = "msg_" + oldest.GetProperty("eventId").GetGuid().ToString("N");
        Assert.Equal(retriedId, received[^1].Headers["webhook-id"].ToString());
        Assert.Equal(2, received.Count(r => r.Headers["webhook-id"].ToString() == retriedId));

        await Api.IsProblemAsync(await client.PostAsync($"/v1/webhooks/{id}/attempts/{Guid.CreateVersion7()}/retry", null), HttpStatusCode.NotFound);
        await Api.IsProblemAsync(await client.GetAsync($"/v1/webhooks/{id}/attempts?cursor=nonsense"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Replay_sends_what_an_endpoint_missed_while_it_was_disabled()
    {
        var (tenantId, adminKey) = await Hosts.CreateTenantAsync("Replay Ltd");
        using var client = Hosts.Client(adminKey);
        var (id, _) = await client.CreateWebhookAsync(Receiver.Url("replay"), "notification.*");
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);

        await client.PatchAsJsonAsync($"/v1/webhooks/{id}", new { enabled = false });
        await Hosts.EventsAsync(tenantId, ("notification.sent", new { n = 1 }), ("notification.failed", new { n = 2 }), ("export.completed", new { n = 3 }));
        await Api.WaitUntilAsync(() => Hosts.QueryAsync(async db => db.Events.Count(e => e.TenantId == tenantId) == 3));
        Assert.Empty(Receiver.Received("replay"));

        await Api.IsProblemAsync(await client.PostAsync($"/v1/webhooks/{id}/replay", null), HttpStatusCode.BadRequest); // since is required
        await Api.IsProblemAsync(await client.PostAsync($"/v1/webhooks/{id}/replay?since={Uri.EscapeDataString(since.ToString("O"))}", null), HttpStatusCode.Conflict);

        await client.PatchAsJsonAsync($"/v1/webhooks/{id}", new { enabled = true });
        var replay = await client.PostAsync($"/v1/webhooks/{id}/replay?since={Uri.EscapeDataString(since.ToString("O"))}", null);
        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        Assert.Equal(2, (await replay.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("queued").GetInt32());

        await Api.WaitUntilAsync(() => Task.FromResult(Receiver.Received("replay").Count == 2));
        // Replaying again sends nothing twice: both were received.
        await Api.WaitUntilAsync(async () => (await client.AttemptsAsync(id)).Count == 2);
        var again = await client.PostAsync($"/v1/webhooks/{id}/replay?since={Uri.EscapeDataString(since.ToString("O"))}", null);
        Assert.Equal(0, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("queued").GetInt32());
    }
}
