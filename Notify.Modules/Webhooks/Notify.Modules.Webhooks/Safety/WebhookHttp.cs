using System.Net;
using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions.Http;

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

    private ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken) =>
        AddressGuard.ConnectAsync(context, _allowPrivate, "webhooks", cancellationToken);

    public void Dispose() => Client.Dispose();
}
