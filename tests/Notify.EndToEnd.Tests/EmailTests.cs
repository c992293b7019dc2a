using System.Text.Json;
using MimeKit;

namespace Notify.EndToEnd.Tests;

/// <summary>Email through the whole system: API → outbox → Worker planner → email sender → SMTP → smtp4dev (read through its REST API).</summary>
[Collection(NotifyAppCollection.Name)]
public sealed class EmailTests(NotifyApp notify)
{
    [Fact]
    public async Task An_email_send_arrives_in_smtp4dev_rendered_with_one_click_unsubscribe_and_the_timeline_ends_sent()
    {
        var (_, adminKey) = await notify.CreateTenantAsync("Email");
        using var client = notify.Client(adminKey);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/v1/templates", DeliveryTests.Template)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/templates/order-shipped/publish", null)).StatusCode);
        var address = $"ann-{Guid.NewGuid():N}@example.com";
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsJsonAsync("/v1/users/ann", new { email = address })).StatusCode);
        var order = $"E-{Random.Shared.Next(100_000, 999_999)}";

        // A non-transactional category, so the message carries the one-click unsubscribe headers.
        var response = await client.PostAsJsonAsync("/v1/notifications", new
        {
            templateKey = "order-shipped",
            category = "promotional",
            channels = new[] { "email" },
            recipients = new[] { new { userId = "ann" } },
            data = new { order = new { number = order }, user = new { name = "Ann" } },
        });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("notifications")[0].GetProperty("id").GetGuid();

        var message = await ReceivedAsync(address);

        Assert.Equal($"Order {order} shipped", message.Subject);
        Assert.Contains($"<p>Hi Ann, order {order} is on its way.</p>", message.HtmlBody, StringComparison.Ordinal);
        Assert.Contains($"order {order} is on its way", message.TextBody, StringComparison.Ordinal);
        Assert.Equal("notify@localhost", message.From.Mailboxes.Single().Address);
        var unsubscribe = message.Headers["List-Unsubscribe"];
        Assert.Matches("^<https?://[^>]+>$", unsubscribe);
        Assert.Equal("List-Unsubscribe=One-Click", message.Headers["List-Unsubscribe-Post"]);

        var details = await NotificationPolling.UntilAsync(client, id, d => d.GetProperty("status").GetString() == "sent", TimeSpan.FromSeconds(60));
        var delivery = Assert.Single(details.GetProperty("deliveries").EnumerateArray());
        Assert.Equal("sent", delivery.GetProperty("status").GetString());
        Assert.Equal(1, delivery.GetProperty("attempts").GetInt32());
        // The Message-ID is derived from the delivery id, so a resend after a crash carries the same one.
        Assert.Equal(message.MessageId, delivery.GetProperty("providerMessageId").GetString());
        Assert.StartsWith(delivery.GetProperty("id").GetGuid().ToString("N"), message.MessageId, StringComparison.Ordinal);
        Assert.Equal(["accepted", "queued", "sent"], details.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("type").GetString()));
    }

    /// <summary>Waits for smtp4dev to list a message to <paramref name="to"/>, then parses its raw source.</summary>
    private async Task<MimeMessage> ReceivedAsync(string to)
    {
        using var smtp4dev = new HttpClient { BaseAddress = notify.App.GetEndpoint("smtp", "http") };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var page = await smtp4dev.GetFromJsonAsync<JsonElement>("/api/messages?pageSize=500");
            var found = page.GetProperty("results").EnumerateArray()
                .FirstOrDefault(m => m.GetProperty("to").EnumerateArray().Any(t => string.Equals(t.GetString(), to, StringComparison.OrdinalIgnoreCase)));
            if (found.ValueKind == JsonValueKind.Object)
            {
                await using var raw = await smtp4dev.GetStreamAsync($"/api/messages/{found.GetProperty("id").GetString()}/raw");
                return await MimeMessage.LoadAsync(raw);
            }

            Assert.True(DateTime.UtcNow < deadline, $"no message to {to} reached smtp4dev in time");
            await Task.Delay(100);
        }
    }
}
