using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Notify.Modules.Abstractions.Security;

namespace Notify.Modules.Delivery.Tracking;

/// <summary>
/// Which email delivery a tracking link belongs to, and for a click the URL it leads to. Short names keep the token, and
/// so the link, short: T tenant, D delivery id, C the delivery's created_at in Unix microseconds (with the id, the row's
/// key: the lookup goes straight to its partition), U the original URL.
/// </summary>
internal sealed record TrackingPayload(Guid T, Guid D, long C, string? U = null)
{
    public static TrackingPayload For(Guid tenantId, Guid deliveryId, DateTimeOffset createdAt, string? url = null) =>
        new(tenantId, deliveryId, (createdAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond, url);

    public DateTimeOffset CreatedAt => DateTimeOffset.UnixEpoch.AddTicks(C * TimeSpan.TicksPerMicrosecond);
}

/// <summary>
/// Email open and click tracking at send time: every absolute http(s) link of the HTML part goes through a signed redirect
/// (<c>/t/c/{token}</c>, the token carrying the original URL, so the redirect can never lead anywhere else), and a 1×1
/// pixel (<c>/t/o/{token}</c>) reports the open. Tokens are <see cref="SignedTokens"/> with their own purposes, so no
/// other token (inbox, unsubscribe) opens them and an open token is no click token.
/// </summary>
/// <remarks>
/// <para>
/// The HTML is not parsed into a DOM (no HTML parser is referenced): a regular expression finds the start tags of
/// <c>&lt;a&gt;</c> and <c>&lt;area&gt;</c> — with quoted attribute values skipped whole, so a <c>&gt;</c> inside one does
/// not end the tag — and walks their attributes in order to the first one named <c>href</c>. Only those two elements are
/// links a recipient clicks; <c>&lt;link href&gt;</c> (stylesheets) and <c>src</c> are left alone. The value is
/// HTML-decoded (<c>&amp;amp;</c> → <c>&amp;</c>) before it is signed, because the decoded URL is the one a browser follows.
/// </para>
/// <para>
/// Left as they are: <c>mailto:</c>, <c>tel:</c> and other schemes, relative links, and links to Notify's own origin
/// (<c>Notify:PublicBaseUrl</c>) — the unsubscribe and preference-center links, which must work without a detour and are
/// not "clicks" on the message. The text part is never changed.
/// </para>
/// <para>
/// Links stay valid for <see cref="LinkLifetime"/>: people click old emails, and a dead link hurts the recipient more than
/// a late click costs. After that a click gets a 410 page instead of the site (the token no longer vouches for its URL).
/// </para>
/// </remarks>
internal sealed partial class EmailTracking(SignedTokens tokens, IConfiguration configuration, ILogger<EmailTracking> logger)
{
    public const string OpenPurpose = "email-open";
    public const string ClickPurpose = "email-click";

    /// <summary>The same setting Preferences builds recipient links with: links in emails point at the API.</summary>
    public const string PublicBaseUrlKey = "Notify:PublicBaseUrl";

    public static readonly TimeSpan LinkLifetime = TimeSpan.FromDays(365);

    private readonly Uri _baseUrl = new(configuration[PublicBaseUrlKey] ?? "http://localhost:5080", UriKind.Absolute);

    /// <summary>The HTML with its links rewritten and the open pixel added; unchanged when it cannot be processed safely.</summary>
    public string Apply(string html, Guid tenantId, Guid deliveryId, DateTimeOffset deliveryCreatedAt)
    {
        string tracked;
        try
        {
            tracked = LinkTag().Replace(html, tag => RewriteHref(tag.Value, tenantId, deliveryId, deliveryCreatedAt));
        }
        catch (RegexMatchTimeoutException)
        {
            // Pathological markup: sending it untracked beats not sending it.
            logger.LogWarning("Email delivery {DeliveryId}: the HTML took too long to scan for links; sending it without tracking", deliveryId);
            return html;
        }

        var pixel = $"""<img src="{OpenUrl(tenantId, deliveryId, deliveryCreatedAt)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;" />""";
        var bodyEnd = tracked.LastIndexOf("</body", StringComparison.OrdinalIgnoreCase);
        return bodyEnd >= 0 ? tracked.Insert(bodyEnd, pixel) : tracked + pixel;
    }

    public Uri OpenUrl(Guid tenantId, Guid deliveryId, DateTimeOffset deliveryCreatedAt) =>
        new(_baseUrl, "/t/o/" + tokens.Issue(OpenPurpose, TrackingPayload.For(tenantId, deliveryId, deliveryCreatedAt), LinkLifetime));

    public Uri ClickUrl(Guid tenantId, Guid deliveryId, DateTimeOffset deliveryCreatedAt, string url) =>
        new(_baseUrl, "/t/c/" + tokens.Issue(ClickPurpose, TrackingPayload.For(tenantId, deliveryId, deliveryCreatedAt, url), LinkLifetime));

    public TokenResult<TrackingPayload> ReadOpen(string? token) => tokens.Read<TrackingPayload>(OpenPurpose, token);

    public TokenResult<TrackingPayload> ReadClick(string? token) => tokens.Read<TrackingPayload>(ClickPurpose, token);

    /// <summary>A URL the click redirect may send a browser to: absolute http(s), printable ASCII only (a safe Location header).</summary>
    public static bool IsRedirectable(string? url) =>
        url is not null && url.All(c => c > ' ' && c < '\x7f')
        && Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    private string RewriteHref(string tag, Guid tenantId, Guid deliveryId, DateTimeOffset createdAt)
    {
        // Attributes in order, each consumed whole, so text inside another attribute's value is never taken for an href.
        var nameEnd = tag.IndexOfAny([' ', '\t', '\n', '\r', '\f', '/', '>']);
        for (var attribute = Attribute().Match(tag, Math.Max(nameEnd, 0)); attribute.Success; attribute = attribute.NextMatch())
        {
            if (!attribute.Groups["name"].Value.Equals("href", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!attribute.Groups["value"].Success || TrackableUrl(attribute.Groups["value"].Value) is not { } url)
            {
                return tag;
            }

            var rewritten = new StringBuilder(tag.Length + 200)
                .Append(tag, 0, attribute.Index)
                .Append(attribute.Groups["space"].Value)
                .Append("href=\"").Append(ClickUrl(tenantId, deliveryId, createdAt, url).AbsoluteUri).Append('"')
                .Append(tag, attribute.Index + attribute.Length, tag.Length - attribute.Index - attribute.Length);
            return rewritten.ToString();
        }

        return tag;
    }

    /// <summary>The URL a browser would follow for this attribute value, when it is one to track; null to leave the link alone.</summary>
    private string? TrackableUrl(string attributeValue)
    {
        var url = WebUtility.HtmlDecode(attributeValue).Trim();
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return null;
        }

        if (Uri.Compare(uri, _baseUrl, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
        {
            return null;
        }

        // Kept exactly as written when it can go in a Location header as is; otherwise in the escaped form a browser sends.
        var exact = IsRedirectable(url) ? url : uri.AbsoluteUri;
        return IsRedirectable(exact) ? exact : null;
    }

    /// <summary>The start tag of an <c>a</c> or <c>area</c> element; quoted values are skipped whole (they may hold <c>&gt;</c>).</summary>
    [GeneratedRegex("""<(?:a|area)(?=[\s/>])(?:[^>"']|"[^"]*"|'[^']*')*>""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 2000)]
    private static partial Regex LinkTag();

    /// <summary>One attribute of a start tag: its name and its double-, single- or un-quoted value (HTML's three forms).</summary>
    [GeneratedRegex("""(?<space>\s+)(?<name>[^\s"'>/=]+)(?:\s*=\s*(?:"(?<value>[^"]*)"|'(?<value>[^']*)'|(?<value>[^\s"'=<>`]+)))?""", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 2000)]
    private static partial Regex Attribute();
}
