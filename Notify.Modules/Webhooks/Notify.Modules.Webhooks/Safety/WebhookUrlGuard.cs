using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions.Http;

namespace Notify.Modules.Webhooks.Safety;

/// <summary>
/// Checks an endpoint URL when it is saved: an absolute http(s) URL whose host resolves only to addresses
/// a webhook may reach. Sending checks again (<see cref="WebhookHttp"/>), because DNS can change.
/// </summary>
internal sealed class WebhookUrlGuard(IOptions<WebhookOptions> options)
{
    /// <summary>Null when the URL may be used; otherwise what is wrong with it, for a 422.</summary>
    public async Task<string?> CheckAsync(string url, CancellationToken cancellationToken)
    {
        if (Shape(url) is { } shapeError)
        {
            return shapeError;
        }

        if (options.Value.AllowPrivateAddresses)
        {
            return null;
        }

        var host = new Uri(url).IdnHost;
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        }
        catch (SocketException)
        {
            return $"The host '{host}' does not resolve; give a URL whose host has a public DNS record.";
        }

        var forbidden = addresses.FirstOrDefault(AddressGuard.IsForbidden);
        return forbidden is null
            ? null
            : $"The URL resolves to {forbidden}, a loopback, private, link-local or metadata address that webhooks may not reach (SSRF protection). Give a public URL.";
    }

    /// <summary>The checks that need no DNS: absolute, http or https, no fragment.</summary>
    public static string? Shape(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            return "url must be an absolute http or https URL, e.g. https://example.com/webhooks.";
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "url must not carry credentials; use custom headers (e.g. Authorization) instead.";
        }

        return null;
    }
}
