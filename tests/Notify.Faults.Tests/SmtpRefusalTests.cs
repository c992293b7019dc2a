using System.Text.Json;
using Notify.Testing;

namespace Notify.Faults.Tests;

/// <summary>
/// An SMTP server that refuses for a while (retries, then success) or for good (a dead letter an operator retries or
/// resolves through the API): real API and Worker processes, a real SMTP server on loopback that answers as scripted.
/// </summary>
[Collection(RefusalCollection.Name)]
public sealed class SmtpRefusalTests(RefusalFixture fixture) : IAsyncLifetime
{
    private readonly ScriptedSmtpServer _smtp = fixture.Smtp;
    private NotifyDeployment _notify = null!;
    private HttpClient _client = null!;
    private int _rcptBefore;
    private int _messagesBefore;

    public async Task InitializeAsync()
    {
        // The tests of the collection run one at a time, so each can script the shared server; counts are taken as deltas.
        _smtp.Reset();
        _rcptBefore = _smtp.RcptCount;
        _messagesBefore = _smtp.Received().Count;
        _notify = fixture.Deployment;
        var (_, key) = await _notify.CreateTenantAsync("Refusals");
        _client = _notify.Client(key);
        await NotifyDeployment.PublishEmailTemplateAsync(_client);
    }

    public Task DisposeAsync()
    {
        _smtp.Reset();
        _client.Dispose();
        return Task.CompletedTask;
    }

    private int Tries => _smtp.RcptCount - _rcptBefore;

    private List<string> Received => _smtp.Received().Skip(_messagesBefore).ToList();

    [Fact]
    public async Task Refusing_for_a_while_is_retried_in_process_then_after_a_wait_then_sent_once()
    {
        // Three quick tries fail, the delivery waits (~1 s here), the fourth try fails too and the fifth goes through.
        _smtp.RefuseNext(4, "451 4.3.0 Try again later");

        var id = Assert.Single(await NotifyDeployment.SendAsync(_client, ["while@example.com"]));
        var details = await UntilAsync($"/v1/notifications/{id}", d => d.GetProperty("status").GetString() == "sent");

        var delivery = Assert.Single(details.GetProperty("deliveries").EnumerateArray());
        Assert.Equal("sent", delivery.GetProperty("status").GetString());
        Assert.Equal(5, delivery.GetProperty("attempts").GetInt32());
        var timeline = details.GetProperty("timeline").EnumerateArray().ToList();
        Assert.Equal(["accepted", "queued", "attempt_failed", "attempt_failed", "attempt_failed", "attempt_failed", "sent"],
            timeline.Select(e => e.GetProperty("type").GetString()));
        var failures = timeline.Where(e => e.GetProperty("type").GetString() == "attempt_failed").Select(e => e.GetProperty("detail").GetString()!).ToList();
        Assert.Contains("Retrying in", failures[0], StringComparison.Ordinal);
        Assert.Contains("Next attempt at", failures[2], StringComparison.Ordinal); // the long wait, stored in deliver_at
        Assert.Equal(5, Tries);
        Assert.Single(Received);
        Assert.Equal(0, (await _client.GetFromJsonAsync<JsonElement>("/v1/dead-letters")).GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Refusing_permanently_parks_a_dead_letter_that_an_operator_retries_or_resolves()
    {
        _smtp.RcptReply = "550 5.1.1 No such user";
        var id = Assert.Single(await NotifyDeployment.SendAsync(_client, ["gone@example.com"]));
        await UntilAsync($"/v1/notifications/{id}", d => d.GetProperty("status").GetString() == "failed");

        var open = await _client.GetFromJsonAsync<JsonElement>("/v1/dead-letters?status=open&channel=email");
        var listed = Assert.Single(open.GetProperty("items").EnumerateArray());
        Assert.Equal(id, listed.GetProperty("notificationId").GetGuid());
        Assert.Equal("gone@example.com", listed.GetProperty("address").GetString());
        Assert.Contains("550", listed.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, listed.GetProperty("attempts").GetInt32()); // permanent: no retry
        var deadId = listed.GetProperty("id").GetGuid();
        Assert.Equal(0, (await _client.GetFromJsonAsync<JsonElement>("/v1/dead-letters?status=open&channel=sms")).GetProperty("items").GetArrayLength());

        var dead = await _client.GetFromJsonAsync<JsonElement>($"/v1/dead-letters/{deadId}");
        Assert.Equal(["queued", "failed"], dead.GetProperty("history").EnumerateArray().Select(e => e.GetProperty("type").GetString()));
        Assert.Contains("No such user", dead.GetProperty("history")[1].GetProperty("detail").GetString(), StringComparison.Ordinal);

        // Another tenant does not see it; a read-only key may look but not retry.
        var (_, otherKey) = await _notify.CreateTenantAsync("Other");
        using (var other = _notify.Client(otherKey))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/v1/dead-letters/{deadId}")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsync($"/v1/dead-letters/{deadId}/retry", null)).StatusCode);
        }

        using (var readOnly = _notify.Client(await ReadOnlyKeyAsync()))
        {
            Assert.Equal(HttpStatusCode.OK, (await readOnly.GetAsync($"/v1/dead-letters/{deadId}")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await readOnly.PostAsync($"/v1/dead-letters/{deadId}/retry", null)).StatusCode);
        }

        // The operator fixed the mailbox and retries: a new delivery sends the same message; the notification ends sent.
        _smtp.RcptReply = "250 OK";
        var retry = await _client.PostAsync($"/v1/dead-letters/{deadId}/retry", null);
        Assert.True(retry.StatusCode == HttpStatusCode.OK, await retry.Content.ReadAsStringAsync());
        var retried = await retry.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("retried", retried.GetProperty("status").GetString());
        var retryDelivery = retried.GetProperty("retryDeliveryId").GetGuid();
        Assert.Contains(retryDelivery.ToString(), retried.GetProperty("resolution").GetString(), StringComparison.Ordinal);

        var details = await UntilAsync($"/v1/notifications/{id}", d => d.GetProperty("status").GetString() == "sent");
        var deliveries = details.GetProperty("deliveries").EnumerateArray().ToList();
        Assert.Equal(2, deliveries.Count);
        Assert.Equal("failed", deliveries.Single(d => d.GetProperty("id").GetGuid() == listed.GetProperty("deliveryId").GetGuid()).GetProperty("status").GetString());
        Assert.Equal("sent", deliveries.Single(d => d.GetProperty("id").GetGuid() == retryDelivery).GetProperty("status").GetString());
        Assert.Equal(["accepted", "queued", "failed", "retried_by_operator", "sent"],
            details.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("type").GetString()));
        var message = Assert.Single(Received);
        Assert.Contains($"{retryDelivery:N}@", message, StringComparison.Ordinal);

        // Only open dead letters can be retried or resolved.
        await AssertConflictAsync(await _client.PostAsync($"/v1/dead-letters/{deadId}/retry", null));
        await AssertConflictAsync(await _client.PostAsJsonAsync($"/v1/dead-letters/{deadId}/resolve", new { note = "late" }));

        // A second one the operator closes without another attempt.
        _smtp.RcptReply = "554 5.7.1 Rejected";
        var second = Assert.Single(await NotifyDeployment.SendAsync(_client, ["rejected@example.com"]));
        await UntilAsync($"/v1/notifications/{second}", d => d.GetProperty("status").GetString() == "failed");
        var secondDead = Assert.Single((await _client.GetFromJsonAsync<JsonElement>("/v1/dead-letters?status=open")).GetProperty("items").EnumerateArray());
        var resolve = await _client.PostAsJsonAsync($"/v1/dead-letters/{secondDead.GetProperty("id").GetGuid()}/resolve", new { note = "Address removed from CRM" });
        Assert.True(resolve.StatusCode == HttpStatusCode.OK, await resolve.Content.ReadAsStringAsync());
        var resolved = await resolve.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("resolved", "Address removed from CRM"), (resolved.GetProperty("status").GetString(), resolved.GetProperty("resolution").GetString()));
        Assert.Equal("failed", (await _client.GetFromJsonAsync<JsonElement>($"/v1/notifications/{second}")).GetProperty("status").GetString());

        var all = (await _client.GetFromJsonAsync<JsonElement>("/v1/dead-letters?limit=1")).GetProperty("items").EnumerateArray().ToList();
        var page = await _client.GetFromJsonAsync<JsonElement>("/v1/dead-letters?limit=1");
        var next = await _client.GetFromJsonAsync<JsonElement>($"/v1/dead-letters?limit=1&cursor={page.GetProperty("nextCursor").GetString()}");
        Assert.Equal(secondDead.GetProperty("id").GetGuid(), Assert.Single(all).GetProperty("id").GetGuid()); // newest first
        Assert.Equal(deadId, Assert.Single(next.GetProperty("items").EnumerateArray()).GetProperty("id").GetGuid());
        Assert.Equal(JsonValueKind.Null, next.GetProperty("nextCursor").ValueKind);

        var bad = await _client.GetAsync("/v1/dead-letters?status=lost");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("status", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v1/dead-letters/{Guid.CreateVersion7()}")).StatusCode);
    }

    private async Task<string> ReadOnlyKeyAsync()
    {
        var response = await _client.PostAsJsonAsync("/v1/api-keys", new { name = "read only", scopes = new[] { "notifications:read" } });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }

    private static async Task AssertConflictAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("already retried", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<JsonElement> UntilAsync(string path, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var body = await _client.GetFromJsonAsync<JsonElement>(path);
            if (done(body))
            {
                return body;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{path} did not get there in time: {body}\nWorker:\n{_notify.Worker?.Tail}");
            await Task.Delay(100);
        }
    }
}
