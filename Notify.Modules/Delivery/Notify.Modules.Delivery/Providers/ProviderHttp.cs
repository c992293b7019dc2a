using System.Net;
using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Delivery.Sending;

namespace Notify.Modules.Delivery.Providers;

/// <summary>Settings of the provider channels (<c>Notify:Providers</c>).</summary>
internal sealed class ProviderOptions
{
    public const string Section = "Notify:Providers";

    /// <summary>
    /// When a tenant has no provider for a channel, deliver to a built-in development sink instead of failing — so the
    /// AppHost runs end to end with no credentials. On in Development only.
    /// </summary>
    public bool DevelopmentSink { get; set; }

    /// <summary>Let providers and webhook-channel URLs reach loopback and private addresses (development and tests only).</summary>
    public bool AllowPrivateAddresses { get; set; }

    public int BatchSize { get; set; } = 50;
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);
    public int MaxAttempts { get; set; } = 8;
    public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Quick in-process retries of a transient failure on the same provider, before the next provider is tried.</summary>
    public int RetryAttempts { get; set; } = 2;
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long providers are read from the database again (changes through the API reach Workers within this).</summary>
    public TimeSpan ConfigurationCache { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Soft bounces of one address (within 30 days) that suppress it like a hard bounce.</summary>
    public int SoftBounceLimit { get; set; } = 3;
}

/// <summary>
/// The pooled HTTP client of the HTTP adapters: no redirects, no cookies, and SSRF protection on every connection (a
/// tenant admin configures base URLs, and webhook-channel URLs come from recipients). Not from IHttpClientFactory: the
/// service defaults add their own retries, and ours are the provider's resilience pipeline.
/// </summary>
internal sealed class ProviderHttp : IDisposable
{
    private readonly bool _allowPrivate;

    public ProviderHttp(IOptions<ProviderOptions> options)
    {
        _allowPrivate = options.Value.AllowPrivateAddresses;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = (context, ct) => AddressGuard.ConnectAsync(context, _allowPrivate, "providers", ct),
        };
        Client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        Client.DefaultRequestHeaders.UserAgent.ParseAdd("Notify/1.0");
    }

    public HttpClient Client { get; }

    /// <summary>
    /// Sends the request (its body a <see cref="HandoverContent"/>) and reads the answer. A failure before the body went
    /// out whole is transient (the provider cannot have acted on it); after, the outcome is in doubt.
    /// </summary>
    public async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpRequestMessage request, HandoverContent content, CancellationToken ct)
    {
        var (status, body, _) = await SendWithHeaderAsync(request, content, null, ct);
        return (status, body);
    }

    /// <summary>As <see cref="SendAsync"/>, also reading one response header (a provider's message id, say).</summary>
    public async Task<(HttpStatusCode Status, string Body, string? Header)> SendWithHeaderAsync(
        HttpRequestMessage request, HandoverContent content, string? header, CancellationToken ct)
    {
        request.Content = content;
        try
        {
            using var response = await Client.SendAsync(request, ct);
            var value = header is not null && response.Headers.TryGetValues(header, out var values) ? values.FirstOrDefault() : null;
            return (response.StatusCode, await response.Content.ReadAsStringAsync(ct), value);
        }
        catch (Exception ex) when (Find<HandoverRefusedException>(ex) is { } refused)
        {
            throw refused;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            if (content.EndWritten)
            {
                throw new ProviderInDoubtException($"The request went out whole, then: {ex.Message}", ex);
            }

            throw new ProviderException(ProviderFailure.Transient, $"{ex.GetType().Name}: {ex.Message}", ex);
        }
    }

    /// <summary>408, 429 and 5xx are worth trying again; any other failure status is the request's fault.</summary>
    public static ProviderFailure FailureOf(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500 ? ProviderFailure.Transient : ProviderFailure.Permanent;

    private static T? Find<T>(Exception ex)
        where T : Exception
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    public void Dispose() => Client.Dispose();
}
