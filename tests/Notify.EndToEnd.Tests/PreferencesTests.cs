using System.Diagnostics;
using System.Text.Json;

namespace Notify.EndToEnd.Tests;

[Collection(NotifyAppCollection.Name)]
public sealed class PreferencesTests(NotifyApp notify)
{
    [Fact]
    public async Task Put_user_creates_then_replaces_the_recipient_and_lower_cases_the_email()
    {
        using var client = await TenantClientAsync("Recipients");

        var created = await client.PutAsJsonAsync("/v1/users/u-1", new { email = "Ann.Lee@Example.COM", phone = "+14155550123", locale = "pt-BR", timeZone = "Europe/Berlin", properties = new { plan = "pro" } });
        await AssertStatusAsync(HttpStatusCode.Created, created);

        var replaced = await client.PutAsJsonAsync("/v1/users/u-1", new { email = "Ann@Example.com", timeZone = "America/New_York", properties = new { plan = "team" } });
        await AssertStatusAsync(HttpStatusCode.OK, replaced);

        var user = await client.GetFromJsonAsync<JsonElement>("/v1/users/u-1");
        Assert.Equal("u-1", user.GetProperty("userId").GetString());
        Assert.Equal("ann@example.com", user.GetProperty("email").GetString());
        Assert.Equal("America/New_York", user.GetProperty("timeZone").GetString());
        Assert.Equal("team", user.GetProperty("properties").GetProperty("plan").GetString());
        // The whole profile is replaced: fields left out are cleared.
        Assert.Equal(JsonValueKind.Null, user.GetProperty("phone").ValueKind);
        Assert.Equal(JsonValueKind.Null, user.GetProperty("locale").ValueKind);
    }

    [Fact]
    public async Task Unknown_time_zone_is_a_422_naming_timeZone_and_a_bad_phone_is_a_400_naming_phone()
    {
        using var client = await TenantClientAsync("Bad fields");

        var zone = await ProblemAssert.IsProblemAsync(
            await client.PutAsJsonAsync("/v1/users/u-1", new { timeZone = "Mars/Olympus_Mons" }), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("timeZone", FieldsOf(zone));

        var phone = await ProblemAssert.IsProblemAsync(
            await client.PutAsJsonAsync("/v1/users/u-1", new { phone = "0155 555" }), HttpStatusCode.BadRequest);
        Assert.Contains("phone", FieldsOf(phone));

        await ProblemAssert.IsProblemAsync(await client.GetAsync("/v1/users/u-1"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Switching_off_transactional_is_a_422_that_says_it_cannot_be_switched_off()
    {
        using var client = await TenantClientAsync("Mandatory");
        await PutUserAsync(client, "u-1");

        var response = await client.PutAsJsonAsync("/v1/users/u-1/preferences", new { categories = new { transactional = new { email = "forbid" } } });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.Contains("'transactional' category cannot be switched off", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var stored = await client.GetFromJsonAsync<JsonElement>("/v1/users/u-1/preferences");
        Assert.False(stored.TryGetProperty("categories", out var categories) && categories.ValueKind == JsonValueKind.Object
            && categories.TryGetProperty("transactional", out _));
    }

    [Fact]
    public async Task User_preferences_are_stored_and_returned()
    {
        using var client = await TenantClientAsync("User prefs");
        await PutUserAsync(client, "u-1");

        var response = await client.PutAsJsonAsync("/v1/users/u-1/preferences", new
        {
            channels = new { sms = "forbid" },
            categories = new { marketing = new { email = "forbid", push = "allow" } },
            quietHours = new { start = "22:00", end = "07:00" },
            digests = new { marketing = new { frequency = "weekly", time = "09:30", day = "friday" } },
        });
        await AssertStatusAsync(HttpStatusCode.OK, response);

        var stored = await client.GetFromJsonAsync<JsonElement>("/v1/users/u-1/preferences");
        Assert.Equal("forbid", stored.GetProperty("channels").GetProperty("sms").GetString());
        Assert.Equal("forbid", stored.GetProperty("categories").GetProperty("marketing").GetProperty("email").GetString());
        Assert.Equal("allow", stored.GetProperty("categories").GetProperty("marketing").GetProperty("push").GetString());
        Assert.Equal("22:00", stored.GetProperty("quietHours").GetProperty("start").GetString());
        Assert.Equal("friday", stored.GetProperty("digests").GetProperty("marketing").GetProperty("day").GetString());
    }

    [Fact]
    public async Task Tenant_defaults_are_stored_with_category_labels_and_cannot_switch_off_system()
    {
        using var client = await TenantClientAsync("Defaults");

        var response = await client.PutAsJsonAsync("/v1/preferences/defaults", new
        {
            categories = new { marketing = new { label = "Product news", channels = new { email = "allow", sms = "forbid" } } },
            frequencyCaps = new { overall = new { perDay = 10 } },
        });
        await AssertStatusAsync(HttpStatusCode.OK, response);

        var defaults = await client.GetFromJsonAsync<JsonElement>("/v1/preferences/defaults");
        var marketing = defaults.GetProperty("categories").GetProperty("marketing");
        Assert.Equal("Product news", marketing.GetProperty("label").GetString());
        Assert.Equal("forbid", marketing.GetProperty("channels").GetProperty("sms").GetString());
        Assert.Equal(10, defaults.GetProperty("frequencyCaps").GetProperty("overall").GetProperty("perDay").GetInt32());

        var system = await client.PutAsJsonAsync("/v1/preferences/defaults", new { categories = new { system = new { channels = new { email = "forbid" } } } });
        await ProblemAssert.IsProblemAsync(system, HttpStatusCode.UnprocessableEntity);
        var unchanged = await client.GetFromJsonAsync<JsonElement>("/v1/preferences/defaults");
        Assert.Equal("Product news", unchanged.GetProperty("categories").GetProperty("marketing").GetProperty("label").GetString());
    }

    [Fact]
    public async Task Batch_upsert_reports_each_item_and_writes_only_the_valid_ones()
    {
        using var client = await TenantClientAsync("Batch");
        await PutUserAsync(client, "existing");

        var response = await client.PostAsJsonAsync("/v1/users/batch", new
        {
            users = new object[]
            {
                new { userId = "existing", email = "Existing@Example.com" },
                new { userId = "new-1", email = "new1@example.com", timeZone = "Asia/Tokyo" },
                new { userId = "bad-email", email = "not an address" },
                new { userId = "bad-zone", timeZone = "Nowhere/Special" },
            },
        });
        await AssertStatusAsync(HttpStatusCode.OK, response);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal((1, 1, 2), (body.GetProperty("created").GetInt32(), body.GetProperty("updated").GetInt32(), body.GetProperty("invalid").GetInt32()));
        var results = body.GetProperty("results").EnumerateArray().ToDictionary(r => r.GetProperty("userId").GetString()!, r => r);
        Assert.Equal("updated", results["existing"].GetProperty("status").GetString());
        Assert.Equal("created", results["new-1"].GetProperty("status").GetString());
        Assert.Equal("invalid", results["bad-email"].GetProperty("status").GetString());
        Assert.True(results["bad-email"].GetProperty("errors").TryGetProperty("email", out _));
        Assert.True(results["bad-zone"].GetProperty("errors").TryGetProperty("timeZone", out _));

        Assert.Equal("existing@example.com", (await client.GetFromJsonAsync<JsonElement>("/v1/users/existing")).GetProperty("email").GetString());
        Assert.Equal("Asia/Tokyo", (await client.GetFromJsonAsync<JsonElement>("/v1/users/new-1")).GetProperty("timeZone").GetString());
        await ProblemAssert.IsProblemAsync(await client.GetAsync("/v1/users/bad-email"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await client.GetAsync("/v1/users/bad-zone"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Delete_user_erases_it()
    {
        using var client = await TenantClientAsync("Erase");
        await PutUserAsync(client, "u-1");

        await AssertStatusAsync(HttpStatusCode.NoContent, await client.DeleteAsync("/v1/users/u-1"));

        await ProblemAssert.IsProblemAsync(await client.GetAsync("/v1/users/u-1"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await client.GetAsync("/v1/users/u-1/preferences"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await client.DeleteAsync("/v1/users/u-1"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Devices_are_registered_once_per_token_and_removed()
    {
        using var client = await TenantClientAsync("Devices");
        await PutUserAsync(client, "u-1");
        var device = new { kind = "fcm", token = "fcm-token-1" };

        var added = await client.PostAsJsonAsync("/v1/users/u-1/devices", device);
        await AssertStatusAsync(HttpStatusCode.Created, added);
        var id = (await added.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var again = await client.PostAsJsonAsync("/v1/users/u-1/devices", device);
        await AssertStatusAsync(HttpStatusCode.OK, again);
        Assert.Equal(id, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
        await ProblemAssert.IsProblemAsync(await client.PostAsJsonAsync("/v1/users/u-1/devices", new { kind = "webpush", token = "not-a-url" }), HttpStatusCode.BadRequest);

        var user = await client.GetFromJsonAsync<JsonElement>("/v1/users/u-1");
        Assert.Equal("fcm-token-1", Assert.Single(user.GetProperty("devices").EnumerateArray()).GetProperty("token").GetString());

        await AssertStatusAsync(HttpStatusCode.NoContent, await client.DeleteAsync($"/v1/users/u-1/devices/{id}"));
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/v1/users/u-1")).GetProperty("devices").EnumerateArray());
        await ProblemAssert.IsProblemAsync(await client.DeleteAsync($"/v1/users/u-1/devices/{id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Unsubscribes_are_added_listed_and_removed_but_never_from_transactional()
    {
        using var client = await TenantClientAsync("Unsubscribes");
        await PutUserAsync(client, "u-1");

        var mandatory = await client.PostAsJsonAsync("/v1/users/u-1/unsubscribes", new { category = "transactional" });
        var problem = await ProblemAssert.IsProblemAsync(mandatory, HttpStatusCode.UnprocessableEntity);
        Assert.Contains("transactional", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var until = DateTimeOffset.UtcNow.AddDays(7);
        await AssertStatusAsync(HttpStatusCode.Created,
            await client.PostAsJsonAsync("/v1/users/u-1/unsubscribes", new { category = "marketing", reason = "complaint", feedback = "too many", expiresAt = until }));

        var list = await client.GetFromJsonAsync<JsonElement>("/v1/users/u-1/unsubscribes");
        var only = Assert.Single(list.EnumerateArray());
        Assert.Equal("marketing", only.GetProperty("category").GetString());
        Assert.Equal("complaint", only.GetProperty("reason").GetString());
        Assert.Equal("too many", only.GetProperty("feedback").GetString());
        Assert.Equal(until.ToUnixTimeSeconds(), only.GetProperty("expiresAt").GetDateTimeOffset().ToUnixTimeSeconds());

        await AssertStatusAsync(HttpStatusCode.NoContent, await client.DeleteAsync("/v1/users/u-1/unsubscribes/marketing"));
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/v1/users/u-1/unsubscribes")).EnumerateArray());
        await ProblemAssert.IsProblemAsync(await client.DeleteAsync("/v1/users/u-1/unsubscribes/marketing"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Suppressions_are_added_idempotently_listed_and_removed()
    {
        using var client = await TenantClientAsync("Suppressions");

        var added = await client.PostAsJsonAsync("/v1/suppressions", new { address = "Bounced@Example.com", reason = "hard_bounce" });
        await AssertStatusAsync(HttpStatusCode.OK, added);
        Assert.Equal("bounced@example.com", (await added.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("address").GetString());
        await AssertStatusAsync(HttpStatusCode.OK, await client.PostAsJsonAsync("/v1/suppressions", new { address = "bounced@example.com", reason = "complaint" }));
        await ProblemAssert.IsProblemAsync(await client.PostAsJsonAsync("/v1/suppressions", new { address = "nobody" }), HttpStatusCode.BadRequest);

        var list = await client.GetFromJsonAsync<JsonElement>("/v1/suppressions");
        var only = Assert.Single(list.GetProperty("items").EnumerateArray());
        Assert.Equal("bounced@example.com", only.GetProperty("address").GetString());
        Assert.Equal("hard_bounce", only.GetProperty("reason").GetString());

        await AssertStatusAsync(HttpStatusCode.NoContent, await client.DeleteAsync("/v1/suppressions/" + Uri.EscapeDataString("Bounced@Example.com")));
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/v1/suppressions")).GetProperty("items").EnumerateArray());
        await ProblemAssert.IsProblemAsync(await client.DeleteAsync("/v1/suppressions/" + Uri.EscapeDataString("bounced@example.com")), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Links_point_at_the_api_and_open_the_recipient_pages_without_a_key()
    {
        using var client = await TenantClientAsync("Links");
        await PutUserAsync(client, "u-1");

        var (preferences, unsubscribe) = await LinksAsync(client, "u-1");

        foreach (var link in new[] { preferences, unsubscribe })
        {
            Assert.Equal(notify.ApiAddress.GetLeftPart(UriPartial.Authority), link.GetLeftPart(UriPartial.Authority));
        }

        Assert.Equal("/preferences", preferences.AbsolutePath);
        Assert.Equal("/unsubscribe", unsubscribe.AbsolutePath);
        using var anonymous = notify.Client();
        var page = await anonymous.GetAsync(preferences);
        await AssertStatusAsync(HttpStatusCode.OK, page);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        await ProblemAssert.IsProblemAsync(await client.PostAsJsonAsync("/v1/users/nobody/links", new { }), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task One_click_unsubscribe_with_curl_unsubscribes_the_recipient()
    {
        using var client = await TenantClientAsync("One click");
        await PutUserAsync(client, "u-1");
        var (_, unsubscribe) = await LinksAsync(client, "u-1", "newsletter");

        var (status, body) = await CurlOneClickAsync(unsubscribe);

        Assert.True(status == 200, $"curl got {status}: {body}\n--- api log ---\n{notify.ApiLogTail()}");
        var only = Assert.Single((await client.GetFromJsonAsync<JsonElement>("/v1/users/u-1/unsubscribes")).EnumerateArray());
        Assert.Equal("newsletter", only.GetProperty("category").GetString());
        Assert.Equal("user_request", only.GetProperty("reason").GetString());

        // Mailbox providers may retry: a repeat is still a success and still one unsubscribe.
        Assert.Equal(200, (await CurlOneClickAsync(unsubscribe)).Status);
        Assert.Single((await client.GetFromJsonAsync<JsonElement>("/v1/users/u-1/unsubscribes")).EnumerateArray());
    }

    [Fact]
    public async Task One_click_unsubscribe_with_a_tampered_token_is_a_400_and_changes_nothing()
    {
        using var client = await TenantClientAsync("Tampered one click");
        await PutUserAsync(client, "u-1");
        var (_, unsubscribe) = await LinksAsync(client, "u-1");

        var (status, body) = await CurlOneClickAsync(Tamper(unsubscribe));

        Assert.True(status == 400, $"curl got {status}: {body}\n--- api log ---\n{notify.ApiLogTail()}");
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/v1/users/u-1/unsubscribes")).EnumerateArray());
    }

    /// <summary>Exactly the request a mailbox provider sends for RFC 8058 one-click unsubscribe.</summary>
    private static async Task<(int Status, string Body)> CurlOneClickAsync(Uri url)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
        {
            "-s", "-o", "-", "-w", "%{http_code}", "-X", "POST", "-H", "Content-Type: application/x-www-form-urlencoded",
            "--data", "List-Unsubscribe=One-Click", url.AbsoluteUri,
        })
        {
            start.ArgumentList.Add(arg);
        }

        using var curl = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var output = await curl.StandardOutput.ReadToEndAsync(timeout.Token);
        await curl.WaitForExitAsync(timeout.Token);
        Assert.True(curl.ExitCode == 0, $"curl exited with {curl.ExitCode}: {await curl.StandardError.ReadToEndAsync(timeout.Token)}");
        return (int.Parse(output[^3..], System.Globalization.CultureInfo.InvariantCulture), output[..^3]);
    }

    private async Task<HttpClient> TenantClientAsync(string name) => notify.Client((await notify.CreateTenantAsync(name)).AdminKey);

    private async Task AssertStatusAsync(HttpStatusCode expected, HttpResponseMessage response) =>
        Assert.True(response.StatusCode == expected,
            $"expected {expected}, got {response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n--- api log ---\n{notify.ApiLogTail()}");

    private async Task PutUserAsync(HttpClient client, string userId) =>
        await AssertStatusAsync(HttpStatusCode.Created, await client.PutAsJsonAsync($"/v1/users/{userId}", new { email = $"{userId}@example.com" }));

    private async Task<(Uri PreferenceCenter, Uri Unsubscribe)> LinksAsync(HttpClient client, string userId, string? category = null)
    {
        var response = await client.PostAsJsonAsync($"/v1/users/{userId}/links", new { category });
        await AssertStatusAsync(HttpStatusCode.OK, response);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (new Uri(body.GetProperty("preferenceCenterUrl").GetString()!), new Uri(body.GetProperty("unsubscribeUrl").GetString()!));
    }

    /// <summary>The link with one character of its token's payload changed, as a hand-edited or mangled link would be.</summary>
    internal static Uri Tamper(Uri link)
    {
        var query = link.Query;
        var at = query.IndexOf("token=", StringComparison.Ordinal) + "token=".Length + 10;
        var changed = query[at] == 'A' ? 'B' : 'A';
        return new UriBuilder(link) { Query = query[1..at] + changed + query[(at + 1)..] }.Uri;
    }

    /// <summary>The field names of a problem's errors, whether FastEndpoints' list or our map.</summary>
    private static List<string> FieldsOf(JsonElement problem)
    {
        var errors = problem.GetProperty("errors");
        return errors.ValueKind == JsonValueKind.Array
            ? errors.EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToList()
            : errors.EnumerateObject().Select(e => e.Name).ToList();
    }
}
