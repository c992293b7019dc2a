using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Notify.EndToEnd.Tests;

[Collection(NotifyAppCollection.Name)]
public sealed class WebhooksTests(NotifyApp notify)
{
    [Fact]
    public async Task A_test_event_reaches_a_local_receiver_signed_through_the_api_and_worker()
    {
        // The development run allows localhost receivers (SSRF protection is for deployments).
        var port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var received = listener.GetContextAsync();

        var (_, adminKey) = await notify.CreateTenantAsync("Webhooks E2E");
        using var client = notify.Client(adminKey);
        var created = await client.PostAsJsonAsync("/v1/webhooks", new { url = $"http://127.0.0.1:{port}/hook", eventTypes = new[] { "notification.*" } });
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"{await created.Content.ReadAsStringAsync()}\n--- api log ---\n{notify.ApiLogTail()}");
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var id = body.GetProperty("webhook").GetProperty("id").GetGuid();
        var secret = body.GetProperty("secret").GetString()!;
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/v1/webhooks/{id}/test", null)).StatusCode);

        var context = await received.WaitAsync(TimeSpan.FromSeconds(30));
        using var reader = new StreamReader(context.Request.InputStream);
        var payload = await reader.ReadToEndAsync();
        context.Response.StatusCode = 204;
        context.Response.Close();

        Assert.Equal("webhook.test", JsonDocument.Parse(payload).RootElement.GetProperty("type").GetString());
        var messageId = context.Request.Headers["webhook-id"];
        var timestamp = context.Request.Headers["webhook-timestamp"];
        var expected = Convert.ToBase64String(HMACSHA256.HashData(
            Convert.FromBase64String(secret["whsec_".Length..]), Encoding.UTF8.GetBytes($"{messageId}.{timestamp}.{payload}")));
        Assert.Equal($"v1,{expected}", context.Request.Headers["webhook-signature"]);

        // The Worker records the attempt.
        JsonElement attempts = default;
        for (var i = 0; i < 100 && (attempts.ValueKind != JsonValueKind.Array || attempts.GetArrayLength() == 0); i++)
        {
            await Task.Delay(100);
            attempts = (await client.GetFromJsonAsync<JsonElement>($"/v1/webhooks/{id}/attempts")).GetProperty("items");
        }

        Assert.Equal(204, attempts[0].GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task An_unsubscribe_reaches_the_tenants_webhook_as_recipient_unsubscribed()
    {
        var port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var received = listener.GetContextAsync();

        var (_, adminKey) = await notify.CreateTenantAsync("Unsubscribe webhook");
        using var client = notify.Client(adminKey);
        Assert.Equal(HttpStatusCode.Created,
            (await client.PostAsJsonAsync("/v1/webhooks", new { url = $"http://127.0.0.1:{port}/hook", eventTypes = new[] { "recipient.*" } })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsJsonAsync("/v1/users/u-9", new { email = "u9@example.com" })).StatusCode);
        var unsubscribed = await client.PostAsJsonAsync("/v1/users/u-9/unsubscribes", new { category = "newsletter", feedback = "too many" });
        Assert.True(unsubscribed.StatusCode == HttpStatusCode.Created, $"{await unsubscribed.Content.ReadAsStringAsync()}\n--- api log ---\n{notify.ApiLogTail()}");

        var context = await received.WaitAsync(TimeSpan.FromSeconds(30));
        using var reader = new StreamReader(context.Request.InputStream);
        var payload = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement;
        context.Response.StatusCode = 204;
        context.Response.Close();

        Assert.Equal("recipient.unsubscribed", payload.GetProperty("type").GetString());
        var data = payload.GetProperty("data");
        Assert.Equal("u-9", data.GetProperty("userId").GetString());
        Assert.Equal("newsletter", data.GetProperty("category").GetString());
        Assert.Equal("admin_action", data.GetProperty("reason").GetString());
        Assert.Equal("too many", data.GetProperty("feedback").GetString());
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
