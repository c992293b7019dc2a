using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MimeKit;
using Notify.Modules.Abstractions.Messaging;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Delivery.Contracts;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Domain;
using Notify.Modules.Delivery.Inbox;
using Notify.Modules.Delivery.Sending;
using Notify.Modules.Delivery.Tracking;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Templates.Contracts;
using Notify.Testing;

namespace Notify.Delivery.Tests;

/// <summary>Started once for the class: a database, an API and an idle host (whose services drive the email sender).</summary>
public sealed class TrackingFixture : IAsyncLifetime
{
    /// <summary>Links in emails point here; the tests call the API at its real address with the link's path.</summary>
    public const string PublicBaseUrl = "https://notify.test";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private DeliveryHosts? _hosts;

    internal DeliveryHosts Hosts => _hosts!;
    public Uri Api { get; private set; } = null!;
    public IHost Services { get; private set; } = null!;

    internal async Task EnsureStartedAsync(Infrastructure infrastructure)
    {
        await _gate.WaitAsync();
        try
        {
            if (_hosts is not null)
            {
                return;
            }

            var hosts = new DeliveryHosts(infrastructure, new Dictionary<string, string?> { ["Notify:PublicBaseUrl"] = PublicBaseUrl });
            await hosts.MigrateAsync();
            Api = await hosts.StartApiAsync();
            Services = await hosts.StartIdleHostAsync();
            _hosts = hosts;
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_hosts is not null)
        {
            await _hosts.DisposeAsync();
        }
    }
}

/// <summary>Email open and click tracking: links rewritten at send time, the pixel and the signed redirect, and the switches.</summary>
[Collection(InfrastructureCollection.Name)]
public sealed class TrackingTests(Infrastructure infrastructure, TrackingFixture fixture) : IAsyncLifetime, IClassFixture<TrackingFixture>
{
    private const string Html = """
        <html><head><link rel="stylesheet" href="https://cdn.example.com/mail.css"></head><body>
        <p><a href="https://shop.example.com/orders?id=1&amp;ref=mail">Your order</a></p>
        <p><a class='button' href='http://example.org/Path/Ünïcode?q=a b'>Single-quoted</a></p>
        <p><a href=https://unquoted.example.com/p>Unquoted</a></p>
        <p><a title="a > b" data-href="https://data.example.com/" HREF = "https://gt.example.com/x#frag">Tricky</a></p>
        <p><a href="mailto:help@example.com?subject=Hi&amp;body=x">Mail us</a> <a href="/relative/page">Relative</a>
        <a href="https://notify.test/unsubscribe?token=abc.def">Unsubscribe</a> <a name="anchor">No href</a></p>
        <img src="https://cdn.example.com/logo.png" alt="">
        </body></html>
        """;

    private const string Text = "Your order: https://shop.example.com/orders?id=1&ref=mail";

    private readonly Guid _tenant = Guid.CreateVersion7();
    private readonly ScriptedSmtpServer _smtp = new();

    public Task InitializeAsync() => fixture.EnsureStartedAsync(infrastructure);

    public Task DisposeAsync()
    {
        _smtp.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public void Links_go_through_signed_redirects_to_their_exact_url_and_a_pixel_is_added_while_other_links_stay_as_written()
    {
        var tracking = fixture.Services.Services.GetRequiredService<EmailTracking>();
        var deliveryId = Guid.CreateVersion7();
        var createdAt = DateTimeOffset.Parse("2026-11-24T10:00:00.123456Z", System.Globalization.CultureInfo.InvariantCulture);

        var tracked = tracking.Apply(Html, _tenant, deliveryId, createdAt);

        var clicks = ClickTokens(tracked).Select(t => tracking.ReadClick(t)).ToList();
        Assert.All(clicks, c => Assert.True(c.IsValid));
        Assert.All(clicks, c => Assert.Equal((_tenant, deliveryId, createdAt), (c.Payload!.T, c.Payload.D, c.Payload.CreatedAt)));
        Assert.Equal(
            [
                "https://shop.example.com/orders?id=1&ref=mail", // &amp; decoded: the URL the browser would have followed
                "http://example.org/Path/%C3%9Cn%C3%AFcode?q=a%20b", // escaped as a browser sends it, so it fits a Location header
                "https://unquoted.example.com/p",
                "https://gt.example.com/x#frag",
            ],
            clicks.Select(c => c.Payload!.U!).ToList());
        Assert.DoesNotContain("shop.example.com", tracked, StringComparison.Ordinal);
        // Untouched: the stylesheet, mailto, relative, Notify's own unsubscribe link, the data- attribute, images.
        foreach (var kept in new[]
        {
            """<link rel="stylesheet" href="https://cdn.example.com/mail.css">""",
            """<a href="mailto:help@example.com?subject=Hi&amp;body=x">""",
            """<a href="/relative/page">""",
            """<a href="https://notify.test/unsubscribe?token=abc.def">""",
            """data-href="https://data.example.com/" """,
            """<img src="https://cdn.example.com/logo.png" alt="">""",
            """<a class='button' """,
            """<a name="anchor">""",
        })
        {
            Assert.Contains(kept, tracked, StringComparison.Ordinal);
        }

        var pixel = Assert.Single(Regex.Matches(tracked, """<img src="https://notify\.test/t/o/([^"]+)" width="1" height="1"[^>]*>"""));
        Assert.True(tracking.ReadOpen(pixel.Groups[1].Value).IsValid);
        Assert.EndsWith("border:0;\" /></body></html>", tracked, StringComparison.Ordinal);
        // The open token is not a click token, and the other way round.
        Assert.False(tracking.ReadClick(pixel.Groups[1].Value).IsValid);
        Assert.False(tracking.ReadOpen(ClickTokens(tracked)[0]).IsValid);
    }

    [Fact]
    public async Task A_sent_email_has_tracked_links_and_a_pixel_in_its_html_only_and_none_when_tracking_is_off()
    {
        var (_, tracked) = await QueuedEmailAsync(tracking: true);
        var (_, untracked) = await QueuedEmailAsync(tracking: false);

        Assert.Equal(2, await SendRoundAsync());

        var trackedMessage = SentTo(tracked);
        Assert.Equal(4, ClickTokens(trackedMessage.HtmlBody!).Count);
        Assert.Contains("https://notify.test/t/o/", trackedMessage.HtmlBody!, StringComparison.Ordinal);
        Assert.Equal(Text, trackedMessage.TextBody!.TrimEnd());
        // The one-click unsubscribe header is Notify's own link, never a tracked one.
        Assert.StartsWith("<https://notify.test/unsubscribe?token=", trackedMessage.Headers["List-Unsubscribe"], StringComparison.Ordinal);

        var untrackedMessage = SentTo(untracked);
        Assert.Equal(Html.ReplaceLineEndings(), untrackedMessage.HtmlBody!.ReplaceLineEndings());
        Assert.DoesNotContain("/t/", untrackedMessage.HtmlBody!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_click_redirects_to_exactly_the_url_in_the_message_and_records_clicked_once()
    {
        var (notification, delivery) = await QueuedEmailAsync(tracking: true);
        await SendRoundAsync();
        var link = ClickLinks(SentTo(delivery).HtmlBody!)[0];

        // A query string added to the link changes nothing: the destination comes from the signed token only.
        var response = await GetAsync(link + "?url=https://evil.example.com/");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("https://shop.example.com/orders?id=1&ref=mail", response.Headers.Location!.OriginalString);
        Assert.Equal(DeliveryStatus.Clicked, (await DeliveryAsync(delivery)).Status);
        var clicked = Assert.Single(await EventsAsync(notification), e => e.Type == DeliveryStatus.Clicked);
        Assert.Equal((delivery.Id, Channels.Email, "https://shop.example.com/orders?id=1&ref=mail"), (clicked.DeliveryId, clicked.Channel, clicked.Detail));
        // Told to the rest of the system like every status change: the notification.clicked event.
        var outbox = await OutboxAsync(delivery);
        Assert.Single(outbox, o => o.Payload.Contains("notification.clicked", StringComparison.Ordinal));

        // Another link, and the same again: both still redirect, but the delivery was already clicked.
        var second = await GetAsync(ClickLinks(SentTo(delivery).HtmlBody!)[3]);
        Assert.Equal(HttpStatusCode.Found, second.StatusCode);
        Assert.Equal("https://gt.example.com/x#frag", second.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.Found, (await GetAsync(link)).StatusCode);
        Assert.Single(await EventsAsync(notification), e => e.Type == DeliveryStatus.Clicked);

        // An open after the click does not move the delivery back.
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(OpenLink(SentTo(delivery).HtmlBody!))).StatusCode);
        Assert.Equal(DeliveryStatus.Clicked, (await DeliveryAsync(delivery)).Status);
        Assert.DoesNotContain(await EventsAsync(notification), e => e.Type == DeliveryStatus.Opened);
    }

    [Fact]
    public async Task A_click_link_with_a_tampered_signature_or_url_or_another_purposes_token_gets_400_and_records_nothing()
    {
        var (notification, delivery) = await QueuedEmailAsync(tracking: true);
        await SendRoundAsync();
        var html = SentTo(delivery).HtmlBody!;
        var token = ClickTokens(html)[0];
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        var (payload, signature) = (token[..dot], token[(dot + 1)..]);

        // One character of the signature changed.
        var flipped = payload + "." + signature[..5] + (signature[5] == 'A' ? 'B' : 'A') + signature[6..];
        // The URL swapped for another, the signature kept.
        var swapped = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(
            Encoding.UTF8.GetString(Base64Url.DecodeFromChars(payload)).Replace("https://shop.example.com/orders?id=1\\u0026ref=mail", "https://evil.example.com/", StringComparison.Ordinal)));
        Assert.NotEqual(payload, swapped);
        var services = fixture.Services.Services;
        var unsubscribe = services.GetRequiredService<IRecipientPreferences>().LinksFor(_tenant, "ann", "updates").Unsubscribe;
        var inbox = services.GetRequiredService<SignedTokens>().Issue(InboxTokens.Purpose, new SubscriberTokenPayload(_tenant, "ann"), TimeSpan.FromHours(1));

        foreach (var bad in new[]
        {
            flipped, swapped + "." + signature, OpenToken(html), inbox, unsubscribe.Query["?token=".Length..], "not-a-token", payload,
            // Not base64url at all, or with stray trailing bits: malformed, still a 400 (never a 500).
            payload + "." + signature[..^2] + "xx", payload + ".!!!!", payload + "." + signature + "A",
        })
        {
            var response = await GetAsync("/t/c/" + bad);
            var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
            Assert.Contains("not valid", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Null(response.Headers.Location);
        }

        Assert.Equal(DeliveryStatus.Sent, (await DeliveryAsync(delivery)).Status);
        Assert.DoesNotContain(await EventsAsync(notification), e => e.Type == DeliveryStatus.Clicked);
    }

    [Fact]
    public async Task An_expired_click_link_gets_410_and_does_not_redirect()
    {
        var (notification, delivery) = await QueuedEmailAsync(tracking: true);
        await SendRoundAsync();
        var configuration = fixture.Services.Services.GetRequiredService<IConfiguration>();
        var longAgo = new SignedTokens(configuration, new ManualClock(DateTimeOffset.UtcNow - EmailTracking.LinkLifetime - TimeSpan.FromDays(1)));
        var token = longAgo.Issue(EmailTracking.ClickPurpose,
            TrackingPayload.For(_tenant, delivery.Id, delivery.CreatedAt, "https://shop.example.com/"), EmailTracking.LinkLifetime);

        var response = await GetAsync("/t/c/" + token);

        await ProblemAsync(response, HttpStatusCode.Gone);
        Assert.Null(response.Headers.Location);
        Assert.DoesNotContain(await EventsAsync(notification), e => e.Type == DeliveryStatus.Clicked);
    }

    [Fact]
    public async Task The_open_pixel_is_an_uncached_gif_that_records_opened_once_and_a_bad_token_still_gets_the_gif_and_records_nothing()
    {
        var (notification, delivery) = await QueuedEmailAsync(tracking: true);
        await SendRoundAsync();
        var pixel = OpenLink(SentTo(delivery).HtmlBody!);

        var bad = await GetAsync("/t/o/" + OpenToken(SentTo(delivery).HtmlBody!)[..^2] + "xx");
        await AssertGifAsync(bad);
        Assert.Equal(DeliveryStatus.Sent, (await DeliveryAsync(delivery)).Status);

        await AssertGifAsync(await GetAsync(pixel));
        await AssertGifAsync(await GetAsync(pixel));

        Assert.Equal(DeliveryStatus.Opened, (await DeliveryAsync(delivery)).Status);
        var opened = Assert.Single(await EventsAsync(notification), e => e.Type == DeliveryStatus.Opened);
        Assert.Equal(delivery.Id, opened.DeliveryId);
        Assert.Single(await OutboxAsync(delivery), o => o.Payload.Contains("notification.opened", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tracking_is_on_by_default_and_off_for_a_template_or_a_tenant_that_switches_it_off()
    {
        var (tenantA, keyA) = await fixture.Hosts.CreateTenantAsync(fixture.Api, "tracking-a");
        var (tenantB, keyB) = await fixture.Hosts.CreateTenantAsync(fixture.Api, "tracking-b");
        using var a = DeliveryHosts.Client(fixture.Api, keyA);
        using var b = DeliveryHosts.Client(fixture.Api, keyB);
        await PublishTemplateAsync(a, "tracked", tracking: null);
        var created = await PublishTemplateAsync(a, "untracked", tracking: false);
        Assert.False(created.GetProperty("draft").GetProperty("tracking").GetBoolean());
        // A draft update that does not mention tracking keeps it off.
        var updated = await a.PutAsJsonAsync("/v1/templates/untracked/draft", new { variants = Variants() });
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.False((await updated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("draft").GetProperty("tracking").GetBoolean());

        var brand = await b.PutAsJsonAsync("/v1/brand", new { name = "B", emailTracking = false });
        Assert.Equal(HttpStatusCode.OK, brand.StatusCode);
        // Setting only the look later does not switch tracking back on.
        Assert.Equal(HttpStatusCode.OK, (await b.PutAsJsonAsync("/v1/brand", new { name = "B2" })).StatusCode);
        Assert.False((await b.GetFromJsonAsync<JsonElement>("/v1/brand")).GetProperty("emailTracking").GetBoolean());
        await PublishTemplateAsync(b, "tracked", tracking: null);

        Assert.True((await RenderAsync(tenantA, "tracked", Channels.Email)).Tracking);
        Assert.False((await RenderAsync(tenantA, "untracked", Channels.Email)).Tracking);
        Assert.False((await RenderAsync(tenantB, "tracked", Channels.Email)).Tracking);
        Assert.False((await RenderAsync(tenantA, "tracked", Channels.InApp)).Tracking);
    }

    private static object[] Variants() =>
    [
        new { locale = "en", content = new { email = new { subject = "Hi", html = "<p><a href=\"https://example.com/\">Go</a></p>" }, inApp = new { title = "Hi", body = "Go" } } },
    ];

    private static async Task<JsonElement> PublishTemplateAsync(HttpClient client, string key, bool? tracking)
    {
        var created = await client.PostAsJsonAsync("/v1/templates", new
        {
            key, name = key, category = "updates", channels = new[] { Channels.Email, Channels.InApp }, variants = Variants(), tracking,
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/v1/templates/{key}/publish", null)).StatusCode);
        return await created.Content.ReadFromJsonAsync<JsonElement>();
    }

    private Task<RenderedMessage> RenderAsync(Guid tenantId, string key, string channel) =>
        fixture.Services.Services.GetRequiredService<ITemplates>().RenderAsync(
            new RenderRequest(tenantId, key, channel, "en", JsonSerializer.SerializeToElement(new { })), default);

    private static async Task AssertGifAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/gif", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoStore);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal("GIF89a", Encoding.ASCII.GetString(bytes, 0, 6));
        Assert.Equal((1, 1), (BitConverter.ToUInt16(bytes, 6), BitConverter.ToUInt16(bytes, 8)));
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        return body;
    }

    /// <summary>GETs a path (or a link's path) from the API as a browser would, without following redirects.</summary>
    private async Task<HttpResponseMessage> GetAsync(string pathOrLink)
    {
        var path = pathOrLink.StartsWith(TrackingFixture.PublicBaseUrl, StringComparison.Ordinal) ? pathOrLink[TrackingFixture.PublicBaseUrl.Length..] : pathOrLink;
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = fixture.Api };
        return await client.GetAsync(new Uri(path, UriKind.Relative));
    }

    private static List<string> ClickLinks(string html) =>
        Regex.Matches(html, """href="(https://notify\.test/t/c/[^"]+)" """.TrimEnd()).Select(m => m.Groups[1].Value).ToList();

    private static List<string> ClickTokens(string html) => ClickLinks(html).Select(l => l[(l.LastIndexOf('/') + 1)..]).ToList();

    private static string OpenLink(string html) => Regex.Match(html, """src="(https://notify\.test/t/o/[^"]+)" """.TrimEnd()).Groups[1].Value;

    private static string OpenToken(string html) => OpenLink(html)[(OpenLink(html).LastIndexOf('/') + 1)..];

    private MimeMessage SentTo(ChannelDelivery delivery)
    {
        // The scripted server keeps the data as it came, dot-stuffed (RFC 5321 §4.5.2).
        var raw = _smtp.Messages.Single(m => m.Contains(delivery.Id.ToString("N"), StringComparison.Ordinal)).Replace("\r\n..", "\r\n.", StringComparison.Ordinal);
        return MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(raw)));
    }

    /// <summary>One round of the sender (claim a batch, send, record) over a fresh SMTP connection.</summary>
    private async Task<int> SendRoundAsync()
    {
        var options = Options.Create(new EmailOptions { RetryDelay = TimeSpan.FromMilliseconds(10) });
        var server = new SmtpServer("127.0.0.1", _smtp.Port);
        var sender = ActivatorUtilities.CreateInstance<EmailSender>(fixture.Services.Services, server, options);
        using var smtp = new SmtpConnection(server);
        return await sender.SendDueAsync(smtp, default);
    }

    /// <summary>A notification to ann with a queued email delivery whose rendered content allows tracking or not.</summary>
    private async Task<(Notification Notification, ChannelDelivery Delivery)> QueuedEmailAsync(bool tracking)
    {
        var (id, createdAt) = UuidV7.New(TimeProvider.System);
        var notification = new Notification
        {
            Id = id, TenantId = _tenant, TemplateKey = "news", TemplateVersion = 1, Category = "updates", Priority = "normal",
            UserId = "ann", Channels = [Channels.Email], Status = NotificationStatus.Accepted, CreatedAt = createdAt, UpdatedAt = createdAt,
        };
        // Its own created_at, later than the notification's and with microseconds, as the planner makes them.
        var deliveryCreatedAt = createdAt.AddTicks(1234560);
        var delivery = new ChannelDelivery
        {
            Id = Guid.CreateVersion7(deliveryCreatedAt), TenantId = _tenant, NotificationId = id, Channel = Channels.Email, Status = DeliveryStatus.Queued,
            Address = "ann@example.com", CreatedAt = deliveryCreatedAt, UpdatedAt = deliveryCreatedAt,
            Content = JsonSerializer.Serialize(
                new RenderedMessage(Channels.Email, "en", Subject: "Your order", Html: Html, Text: Text, Tracking: tracking), JsonSerializerOptions.Web),
        };
        await using var scope = fixture.Services.Services.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<NotificationStore>();
        await store.AcceptAsync([notification], null, default);
        await store.AdvanceAsync(notification, NotificationStatus.Processing, default);
        store.Db.Deliveries.Add(delivery);
        await store.Db.SaveChangesAsync();
        return (notification, delivery);
    }

    private Task<ChannelDelivery> DeliveryAsync(ChannelDelivery delivery) =>
        fixture.Hosts.WithDbAsync(db => db.Deliveries.AsNoTracking().SingleAsync(d => d.Id == delivery.Id));

    private Task<List<NotificationEvent>> EventsAsync(Notification notification) =>
        fixture.Hosts.WithDbAsync(db => db.Events.AsNoTracking().Where(e => e.NotificationId == notification.Id).ToListAsync());

    private async Task<List<OutboxMessage>> OutboxAsync(ChannelDelivery delivery) =>
        (await fixture.Hosts.WithDbAsync(db => db.Set<OutboxMessage>().AsNoTracking().Where(o => o.TenantId == _tenant).ToListAsync()))
            .Where(o => o.Payload.Contains(delivery.Id.ToString(), StringComparison.Ordinal)).ToList();
}
