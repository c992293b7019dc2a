using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Notify.Modules.Webhooks.Safety;

/// <summary>
/// The one pooled HTTP client that sends webhooks. Not from IHttpClientFactory: the service defaults give
/// every factory client a resilience pipeline (its own retries and timeouts) and service discovery, and our
/// retries are the persisted schedule. Redirects are never followed (a 3xx is a failed attempt), and every
/// connection is checked against <see cref="AddressGuard"/> after DNS resolution, right before connecting.
/// </summary>
internal sealed class WebhookHttp : IDisposable
{
    private readonly bool _allowPrivate;

    public WebhookHttp(IOptions<WebhookOptions> options)
    {
        _allowPrivate = options.Value.AllowPrivateAddresses;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.Value.AttemptTimeout,
            // Recycled so a DNS change reaches us (and is checked again on the new connection).
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectCallback = ConnectAsync,
        };
        Client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        Client.DefaultRequestHeaders.UserAgent.ParseAdd("Notify-Webhooks/1.0");
    }

    public HttpClient Client { get; }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = _allowPrivate ? addresses : addresses.Where(a => !AddressGuard.IsForbidden(a)).ToArray();
        if (allowed.Length == 0)
        {
            throw new WebhookAddressRefusedException(
                $"Refused to connect: {host} resolves to {string.Join(", ", addresses.Select(a => a.ToString()))}, which webhooks may not reach (SSRF protection).");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            // Connect to the checked addresses only, never to a name that could resolve differently.
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => Client.Dispose();
}

/// <summary>A connection refused by SSRF protection at send time.</summary>
internal sealed class WebhookAddressRefusedException(string message) : IOException(message);
