using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Playwright;
using Notify.Modules.Abstractions.Security;

namespace Notify.EndToEnd.Tests;

/// <summary>The machine's Chromium (Debian's <c>chromium</c> package), headless, driven by Playwright; never a downloaded browser.</summary>
public sealed class Chromium : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = ExecutablePath, Headless = true });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

[Collection(NotifyAppCollection.Name)]
public sealed class PreferenceCenterBrowserTests(NotifyApp notify, Chromium chromium) : IClassFixture<Chromium>
{
    /// <summary>The JSON shape of the Preferences module's link payload (tenant, user, category).</summary>
    private sealed record LinkPayload(Guid T, string U, string? C);

    [Fact]
    public async Task Preference_center_saves_a_category_switched_off_and_the_api_shows_it()
    {
        using var client = (await TenantWithUserAsync("Browser prefs", "u-1")).Client;
        var defaults = await client.PutAsJsonAsync("/v1/preferences/defaults", new
        {
            categories = new { marketing = new { label = "Product news", channels = new { email = "allow", push = "allow" } } },
        });
        Assert.Equal(HttpStatusCode.OK, defaults.StatusCode);
        var link = await PreferenceCenterLinkAsync(client, "u-1");

        var page = await chromium.Browser.NewPageAsync();
        try
        {
            var opened = await page.GotoAsync(link.AbsoluteUri);
            Assert.Equal(200, opened!.Status);
            Assert.Contains("Product news", await page.InnerTextAsync("table"), StringComparison.Ordinal);
            var email = page.Locator("input[name='cat.marketing.email']");
            Assert.True(await email.IsCheckedAsync());

            await email.UncheckAsync();
            var saved = await SubmitAsync(page, "Save preferences");

            Assert.True(saved.Status == 200, $"save answered {saved.Status}: {await page.InnerTextAsync("body")}\n--- api log ---\n{notify.ApiLogTail()}");
            Assert.Contains("Your preferences are saved.", await page.InnerTextAsync("body"), StringComparison.Ordinal);
            Assert.False(await page.Locator("input[name='cat.marketing.email']").IsCheckedAsync());
            Assert.True(await page.Locator("input[name='cat.marketing.push']").IsCheckedAsync());
        }
        finally
        {
            await page.CloseAsync();
        }

        var preferences = await client.GetFromJsonAsync<JsonElement>("/v1/users/u-1/preferences");
        var marketing = preferences.GetProperty("categories").GetProperty("marketing");
        Assert.Equal("forbid", marketing.GetProperty("email").GetString());
        // Only the difference from the defaults is stored: push still inherits the tenant's allow.
        Assert.False(marketing.TryGetProperty("push", out _));
    }

    [Fact]
    public async Task Expired_and_tampered_preference_links_get_an_error_page_not_a_500()
    {
        var (tenantClient, tenantId) = await TenantWithUserAsync("Browser bad links", "u-1");
        using var client = tenantClient;
        var link = await PreferenceCenterLinkAsync(client, "u-1");

        // Signed with the deployment's real key, but a day ago and for one minute.
        var yesterday = new SignedTokens(
            new ConfigurationBuilder().AddInMemoryCollection([new(SignedTokens.ConfigurationKey, notify.SigningKey)]).Build(),
            new FixedClock(DateTimeOffset.UtcNow.AddDays(-1)));
        var expiredToken = yesterday.Issue("preference-center", new LinkPayload(tenantId, "u-1", null), TimeSpan.FromMinutes(1));
        var expired = new UriBuilder(link) { Query = "token=" + expiredToken }.Uri;

        var page = await chromium.Browser.NewPageAsync();
        try
        {
            var expiredPage = await page.GotoAsync(expired.AbsoluteUri);
            Assert.Equal(410, expiredPage!.Status);
            Assert.Contains("This link has expired", await page.InnerTextAsync("h1"), StringComparison.Ordinal);

            var tamperedPage = await page.GotoAsync(PreferencesTests.Tamper(link).AbsoluteUri);
            Assert.Equal(400, tamperedPage!.Status);
            Assert.Contains("This link is not valid", await page.InnerTextAsync("h1"), StringComparison.Ordinal);
            Assert.StartsWith("text/html", tamperedPage.Headers["content-type"], StringComparison.Ordinal);

            var tamperedUnsubscribe = await page.GotoAsync(PreferencesTests.Tamper(await UnsubscribeLinkAsync(client, "u-1")).AbsoluteUri);
            Assert.Equal(400, tamperedUnsubscribe!.Status);
            Assert.Contains("This link is not valid", await page.InnerTextAsync("h1"), StringComparison.Ordinal);
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    [Fact]
    public async Task Unsubscribe_page_asks_for_confirmation_and_submitting_it_unsubscribes()
    {
        using var client = (await TenantWithUserAsync("Browser unsubscribe", "u-1")).Client;
        var link = await UnsubscribeLinkAsync(client, "u-1");

        var page = await chromium.Browser.NewPageAsync();
        try
        {
            var opened = await page.GotoAsync(link.AbsoluteUri);
            Assert.Equal(200, opened!.Status);
            Assert.Contains("Unsubscribe from Marketing", await page.InnerTextAsync("h1"), StringComparison.Ordinal);
            // Opening the page (as a link scanner would) changes nothing.
            Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/v1/users/u-1/unsubscribes")).EnumerateArray());

            await page.FillAsync("#feedback", "Too often");
            var done = await SubmitAsync(page, "Unsubscribe");

            Assert.True(done.Status == 200, $"unsubscribe answered {done.Status}: {await page.InnerTextAsync("body")}\n--- api log ---\n{notify.ApiLogTail()}");
            Assert.Contains("You are unsubscribed", await page.InnerTextAsync("h1"), StringComparison.Ordinal);
        }
        finally
        {
            await page.CloseAsync();
        }

        var only = Assert.Single((await client.GetFromJsonAsync<JsonElement>("/v1/users/u-1/unsubscribes")).EnumerateArray());
        Assert.Equal("marketing", only.GetProperty("category").GetString());
        Assert.Equal("user_request", only.GetProperty("reason").GetString());
        Assert.Equal("Too often", only.GetProperty("feedback").GetString());
    }

    /// <summary>Presses the form's button and waits for the page the POST answers with.</summary>
    private static async Task<IResponse> SubmitAsync(IPage page, string button)
    {
        var response = await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = button, Exact = true }).ClickAsync(),
            r => r.Request.Method == "POST" && r.Request.IsNavigationRequest);
        // The load event, not DOMContentLoaded: under load a wait for the latter once timed out with the new page's load
        // and network-idle events seen and its own not (Playwright's log), though the page had arrived.
        await page.WaitForLoadStateAsync(LoadState.Load);
        return response;
    }

    private async Task<(HttpClient Client, Guid TenantId)> TenantWithUserAsync(string tenant, string userId)
    {
        var (tenantId, adminKey) = await notify.CreateTenantAsync(tenant);
        var client = notify.Client(adminKey);
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsJsonAsync($"/v1/users/{userId}", new { email = $"{userId}@example.com" })).StatusCode);
        return (client, tenantId);
    }

    private static async Task<JsonElement> LinksAsync(HttpClient client, string userId)
    {
        var response = await client.PostAsJsonAsync($"/v1/users/{userId}/links", new { });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<Uri> PreferenceCenterLinkAsync(HttpClient client, string userId) =>
        new((await LinksAsync(client, userId)).GetProperty("preferenceCenterUrl").GetString()!);

    private static async Task<Uri> UnsubscribeLinkAsync(HttpClient client, string userId) =>
        new((await LinksAsync(client, userId)).GetProperty("unsubscribeUrl").GetString()!);

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
