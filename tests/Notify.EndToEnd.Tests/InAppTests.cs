using System.Text.Json;

namespace Notify.EndToEnd.Tests;

/// <summary>In-app through the AppHost: send → Worker renders and stores → the API's SSE stream pushes it → the inbox shows it.</summary>
[Collection(NotifyAppCollection.Name)]
public sealed class InAppTests(NotifyApp notify)
{
    private static readonly object Template = new
    {
        key = "inbox-order-shipped",
        name = "Order shipped (in-app)",
        category = "transactional",
        channels = new[] { "in_app" },
        defaultLocale = "en",
        variables = new object[] { new { name = "order", required = true } },
        variants = new[]
        {
            new
            {
                locale = "en",
                content = new
                {
                    inApp = new { title = "Order {{ order.number }} shipped", body = "It is on its way.", actionUrl = "https://shop.example/orders/{{ order.number }}" },
                },
            },
        },
    };

    [Fact]
    public async Task An_in_app_send_reaches_an_open_stream_and_the_inbox_where_it_can_be_marked_read()
    {
        var (_, adminKey) = await notify.CreateTenantAsync("In-app");
        using var client = notify.Client(adminKey);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/v1/templates", Template)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/templates/inbox-order-shipped/publish", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsJsonAsync("/v1/users/ann", new { email = "ann@example.com" })).StatusCode);
        var tokenResponse = await client.PostAsJsonAsync("/v1/users/ann/subscriber-token", new { expiresInSeconds = 600 });
        Assert.Equal(HttpStatusCode.OK, tokenResponse.StatusCode);
        var token = (await tokenResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;

        using var streamClient = notify.Client();
        streamClient.Timeout = Timeout.InfiniteTimeSpan;
        using var stream = await streamClient.GetAsync($"/v1/inbox/stream?token={Uri.EscapeDataString(token)}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var (firstEvent, _) = await NextEventAsync(reader, timeout.Token);
        Assert.Equal("unread-count", firstEvent); // the stream is subscribed once this arrives

        var send = await client.PostAsJsonAsync("/v1/notifications", new
        {
            templateKey = "inbox-order-shipped",
            recipients = new[] { new { userId = "ann" } },
            data = new { order = new { number = "A-77" } },
        });
        Assert.Equal(HttpStatusCode.Accepted, send.StatusCode);
        var notificationId = (await send.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("notifications")[0].GetProperty("id").GetGuid();

        string name;
        JsonElement item;
        do
        {
            (name, item) = await NextEventAsync(reader, timeout.Token);
        }
        while (name != "notification");

        Assert.Equal("Order A-77 shipped", item.GetProperty("title").GetString());
        Assert.Equal("It is on its way.", item.GetProperty("body").GetString());
        Assert.Equal("https://shop.example/orders/A-77", item.GetProperty("actionUrl").GetString());
        Assert.Equal(notificationId, item.GetProperty("notificationId").GetGuid());
        var itemId = item.GetProperty("id").GetGuid();

        using var recipient = notify.Client(token);
        var inbox = await recipient.GetFromJsonAsync<JsonElement>("/v1/inbox?status=unread");
        var listed = Assert.Single(inbox.GetProperty("items").EnumerateArray());
        Assert.Equal(itemId, listed.GetProperty("id").GetGuid());
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("readAt").ValueKind);
        Assert.Equal(1, (await recipient.GetFromJsonAsync<JsonElement>("/v1/inbox/unread-count")).GetProperty("unread").GetInt32());

        var read = await recipient.PostAsync($"/v1/inbox/{itemId}/read", null);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.NotEqual(JsonValueKind.Null, (await read.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("readAt").ValueKind);
        Assert.Equal(0, (await recipient.GetFromJsonAsync<JsonElement>("/v1/inbox/unread-count")).GetProperty("unread").GetInt32());
        Assert.Empty((await recipient.GetFromJsonAsync<JsonElement>("/v1/inbox?status=unread")).GetProperty("items").EnumerateArray());

        var details = await client.GetFromJsonAsync<JsonElement>($"/v1/notifications/{notificationId}");
        Assert.Equal("sent", details.GetProperty("status").GetString());
        Assert.Contains(details.GetProperty("timeline").EnumerateArray(),
            e => e.GetProperty("type").GetString() == "sent" && e.GetProperty("channel").GetString() == "in_app");
    }

    /// <summary>Reads the next Server-Sent Event (skipping heartbeats): its name and JSON data.</summary>
    private static async Task<(string Name, JsonElement Data)> NextEventAsync(StreamReader reader, CancellationToken ct)
    {
        string? name = null, data = null;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0 && data is not null)
            {
                return (name ?? "message", JsonSerializer.Deserialize<JsonElement>(data));
            }

            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        throw new EndOfStreamException("The stream ended.");
    }
}
