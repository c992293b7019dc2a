using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Notify.EndToEnd.Tests;

[Collection(NotifyAppCollection.Name)]
public sealed class DeliveryTests(NotifyApp notify)
{
    internal static readonly object Template = new
    {
        key = "order-shipped",
        name = "Order shipped",
        category = "transactional",
        channels = new[] { "email", "in_app" },
        defaultLocale = "en",
        variables = new object[] { new { name = "order", required = true }, new { name = "user", required = true } },
        variants = new[]
        {
            new
            {
                locale = "en",
                content = new
                {
                    email = new { subject = "Order {{ order.number }} shipped", html = "<p>Hi {{ user.name }}, order {{ order.number }} is on its way.</p>" },
                    inApp = new { title = "Order shipped", body = "Order {{ order.number }} is on its way." },
                },
            },
        },
    };

    private static readonly object Data = new { order = new { number = "A-1001" }, user = new { name = "Ann" } };

    [Fact]
    public async Task Send_answers_202_with_one_id_per_recipient_and_get_shows_the_accepted_timeline()
    {
        var (tenant, client) = await TenantWithTemplateAsync("Send");
        await PutUserAsync(client, "ann");

        var response = await client.PostAsJsonAsync("/v1/notifications", new
        {
            templateKey = "order-shipped",
            recipients = new object[] { new { userId = "ann" }, new { email = "Guest@Example.com", locale = "en", timeZone = "Europe/Berlin" } },
            data = Data,
            priority = "high",
            metadata = new { orderId = "A-1001" },
        });

        await AssertStatusAsync(HttpStatusCode.Accepted, response);
        var ids = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("notifications").EnumerateArray()
            .Select(n => n.GetProperty("id").GetGuid()).ToList();
        Assert.Equal(2, ids.Distinct().Count());

        var ann = await client.GetFromJsonAsync<JsonElement>($"/v1/notifications/{ids[0]}");
        Assert.Equal("ann", ann.GetProperty("userId").GetString());
        Assert.Equal("order-shipped", ann.GetProperty("templateKey").GetString());
        Assert.Equal("transactional", ann.GetProperty("category").GetString());
        Assert.Equal("high", ann.GetProperty("priority").GetString());
        Assert.Equal("A-1001", ann.GetProperty("metadata").GetProperty("orderId").GetString());
        Assert.Equal(["email", "in_app"], ann.GetProperty("channels").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("accepted", ann.GetProperty("timeline")[0].GetProperty("type").GetString());

        var guest = await client.GetFromJsonAsync<JsonElement>($"/v1/notifications/{ids[1]}");
        Assert.Equal("guest@example.com", guest.GetProperty("recipient").GetProperty("email").GetString());
        Assert.Equal(2, await CountNotificationsAsync(tenant));
    }

    [Fact]
    public async Task Bad_send_lists_every_problem_and_stores_nothing()
    {
        var (tenant, client) = await TenantWithTemplateAsync("Bad send");
        await PutUserAsync(client, "ann");

        var response = await client.PostAsJsonAsync("/v1/notifications", new
        {
            templateKey = "order-shipped",
            recipients = new object[] { new { userId = "ann" }, new { userId = "nobody" }, new { email = "not an address" } },
            data = new { user = new { name = "Ann" } }, // no order
            priority = "urgent",
        });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        var fields = FieldsOf(problem);
        Assert.Contains("priority", fields);
        Assert.Contains("recipients[2].email", fields);
        Assert.Contains("recipients[1].userId", fields);
        Assert.Contains("data.order", fields);

        var unknownTemplate = await ProblemAssert.IsProblemAsync(await client.PostAsJsonAsync("/v1/notifications", new
        {
            templateKey = "no-such-template",
            recipients = new object[] { new { userId = "ann" } },
            data = Data,
        }), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("templateKey", FieldsOf(unknownTemplate));

        var tooMany = await ProblemAssert.IsProblemAsync(await client.PostAsJsonAsync("/v1/notifications", new
        {
            templateKey = "order-shipped",
            recipients = Enumerable.Range(0, 101).Select(i => new { email = $"u{i}@example.com" }),
            data = Data,
        }), HttpStatusCode.BadRequest);
        Assert.Contains("recipients", FieldsOf(tooMany));

        Assert.Equal(0, await CountNotificationsAsync(tenant));
    }

    [Fact]
    public async Task Twenty_concurrent_sends_with_one_idempotency_key_create_one_notification_and_all_get_its_id()
    {
        var (tenant, client) = await TenantWithTemplateAsync("Idempotent");
        await PutUserAsync(client, "ann");
        var body = new { templateKey = "order-shipped", recipients = new[] { new { userId = "ann" } }, data = Data };

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => SendWithKeyAsync(client, "order-A-1001", body)));

        foreach (var r in responses)
        {
            await AssertStatusAsync(HttpStatusCode.Accepted, r);
        }

        var ids = await Task.WhenAll(responses.Select(async r =>
            (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("notifications")[0].GetProperty("id").GetGuid()));
        Assert.Single(ids.Distinct());
        Assert.Equal(1, await CountNotificationsAsync(tenant));

        var different = await SendWithKeyAsync(client, "order-A-1001", body with { data = new { order = new { number = "B-2" }, user = new { name = "Ann" } } });
        var conflict = await ProblemAssert.IsProblemAsync(different, HttpStatusCode.Conflict);
        Assert.Contains("order-A-1001", conflict.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, await CountNotificationsAsync(tenant));
    }

    [Fact]
    public async Task Cancel_before_sending_records_a_cancelled_event_and_repeating_it_changes_nothing()
    {
        var (_, client) = await TenantWithTemplateAsync("Cancel");
        await PutUserAsync(client, "ann");
        var response = await client.PostAsJsonAsync("/v1/notifications", new
        {
            templateKey = "order-shipped",
            recipients = new[] { new { userId = "ann" } },
            data = Data,
            scheduledFor = DateTimeOffset.UtcNow.AddDays(1),
        });
        await AssertStatusAsync(HttpStatusCode.Accepted, response);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("notifications")[0].GetProperty("id").GetGuid();

        var cancelled = await client.PostAsync($"/v1/notifications/{id}/cancel", null);
        await AssertStatusAsync(HttpStatusCode.OK, cancelled);
        var again = await client.PostAsync($"/v1/notifications/{id}/cancel", null);
        await AssertStatusAsync(HttpStatusCode.OK, again);

        var details = await client.GetFromJsonAsync<JsonElement>($"/v1/notifications/{id}");
        Assert.Equal("cancelled", details.GetProperty("status").GetString());
        Assert.Equal(["scheduled", "cancelled"], details.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task Another_tenants_notification_is_a_404_and_read_needs_a_read_scope()
    {
        var (_, client) = await TenantWithTemplateAsync("Owner");
        await PutUserAsync(client, "ann");
        var response = await client.PostAsJsonAsync("/v1/notifications", new { templateKey = "order-shipped", recipients = new[] { new { userId = "ann" } }, data = Data });
        await AssertStatusAsync(HttpStatusCode.Accepted, response);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("notifications")[0].GetProperty("id").GetGuid();

        var (_, otherAdmin) = await notify.CreateTenantAsync("Other");
        using var other = notify.Client(otherAdmin);
        await ProblemAssert.IsProblemAsync(await other.GetAsync($"/v1/notifications/{id}"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await other.PostAsync($"/v1/notifications/{id}/cancel", null), HttpStatusCode.NotFound);

        var (_, templatesOnly) = await notify.CreateKeyAsync(otherAdmin, "templates:write");
        using var wrongScope = notify.Client(templatesOnly);
        Assert.Equal(HttpStatusCode.Forbidden, (await wrongScope.GetAsync($"/v1/notifications/{id}")).StatusCode);
    }

    private async Task<(Guid Tenant, HttpClient Client)> TenantWithTemplateAsync(string name)
    {
        var (tenant, adminKey) = await notify.CreateTenantAsync(name);
        var client = notify.Client(adminKey);
        await AssertStatusAsync(HttpStatusCode.Created, await client.PostAsJsonAsync("/v1/templates", Template));
        await AssertStatusAsync(HttpStatusCode.OK, await client.PostAsync("/v1/templates/order-shipped/publish", null));
        return (tenant, client);
    }

    private async Task PutUserAsync(HttpClient client, string userId) =>
        await AssertStatusAsync(HttpStatusCode.Created, await client.PutAsJsonAsync($"/v1/users/{userId}", new { email = $"{userId}@example.com" }));

    private static Task<HttpResponseMessage> SendWithKeyAsync<T>(HttpClient client, string key, T body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/notifications") { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request);
    }

    /// <summary>Rows in delivery.notifications for the tenant, read straight from the AppHost's database.</summary>
    private async Task<long> CountNotificationsAsync(Guid tenant)
    {
        var model = notify.App.Services.GetRequiredService<DistributedApplicationModel>();
        var database = model.Resources.OfType<IResourceWithConnectionString>().First(r => r.Name is "notify" or "postgres");
        var connectionString = await database.GetConnectionStringAsync();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM delivery.notifications WHERE tenant_id = @tenant", connection);
        command.Parameters.AddWithValue("tenant", tenant);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task AssertStatusAsync(HttpStatusCode expected, HttpResponseMessage response) =>
        Assert.True(response.StatusCode == expected,
            $"expected {expected}, got {response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n--- api log ---\n{notify.ApiLogTail()}");

    private static List<string> FieldsOf(JsonElement problem)
    {
        var errors = problem.GetProperty("errors");
        return errors.ValueKind == JsonValueKind.Array
            ? errors.EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToList()
            : errors.EnumerateObject().Select(e => e.Name).ToList();
    }
}

[Collection(NotifyAppCollection.Name)]
public sealed class DispatchPlanningTests(NotifyApp notify)
{
    private static readonly object Data = new { order = new { number = "A-1001" }, user = new { name = "Ann" } };

    [Fact]
    public async Task The_worker_renders_and_queues_one_delivery_per_allowed_channel_and_cancel_cancels_them()
    {
        using var client = await TenantAsync("Dispatch");
        // Quiet hours around now hold both deliveries, so the email sender does not send the email before the asserts and the cancel.
        var now = DateTime.UtcNow;
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/v1/users/ann/preferences", new
        {
            quietHours = new { start = now.AddHours(-1).ToString("HH:mm", CultureInfo.InvariantCulture), end = now.AddHours(2).ToString("HH:mm", CultureInfo.InvariantCulture) },
        })).StatusCode);
        var id = await SendAsync(client, new
        {
            templateKey = "order-shipped", category = "promotional", recipients = new[] { new { userId = "ann" } }, data = Data,
        });

        var details = await NotificationPolling.UntilAsync(client, id, d => d.GetProperty("deliveries").GetArrayLength() == 2, TimeSpan.FromSeconds(20));

        Assert.Equal("processing", details.GetProperty("status").GetString());
        var deliveries = details.GetProperty("deliveries").EnumerateArray().ToDictionary(d => d.GetProperty("channel").GetString()!);
        Assert.Equal("queued", deliveries["email"].GetProperty("status").GetString());
        Assert.Equal("ann@example.com", deliveries["email"].GetProperty("address").GetString());
        Assert.Equal("queued", deliveries["in_app"].GetProperty("status").GetString());
        Assert.Equal(["accepted", "queued", "queued"], Types(details));

        var cancelled = await client.PostAsync($"/v1/notifications/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        var after = await client.GetFromJsonAsync<JsonElement>($"/v1/notifications/{id}");
        Assert.All(after.GetProperty("deliveries").EnumerateArray(), d => Assert.Equal("cancelled", d.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task A_channel_the_recipient_switched_off_is_recorded_as_skipped_with_the_reason()
    {
        using var client = await TenantAsync("Skipped channel");
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/v1/users/ann/preferences", new { channels = new { email = "forbid" } })).StatusCode);

        var id = await SendAsync(client, new
        {
            templateKey = "order-shipped", category = "promotional", recipients = new[] { new { userId = "ann" } }, data = Data,
        });

        // The in-app delivery is stored in the inbox at once: planned and sent.
        var details = await NotificationPolling.UntilAsync(client, id, d => d.GetProperty("status").GetString() == "sent", TimeSpan.FromSeconds(20));
        var skipped = details.GetProperty("timeline").EnumerateArray().Single(e => e.GetProperty("type").GetString() == "channel_skipped");
        Assert.Equal("email", skipped.GetProperty("channel").GetString());
        Assert.Equal("forbidden_by_user_channel", skipped.GetProperty("detail").GetString());
        Assert.Equal("in_app", Assert.Single(details.GetProperty("deliveries").EnumerateArray()).GetProperty("channel").GetString());
    }

    private async Task<HttpClient> TenantAsync(string name)
    {
        var (_, adminKey) = await notify.CreateTenantAsync(name);
        var client = notify.Client(adminKey);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/v1/templates", DeliveryTests.Template)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/templates/order-shipped/publish", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsJsonAsync("/v1/users/ann", new { email = "ann@example.com" })).StatusCode);
        return client;
    }

    private async Task<Guid> SendAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/v1/notifications", body);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("notifications")[0].GetProperty("id").GetGuid();
    }

    private static List<string?> Types(JsonElement details) =>
        details.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
}
