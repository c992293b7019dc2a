using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.Extensions.Options;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Webhooks.Safety;

namespace Notify.Modules.Webhooks.Dispatch;

/// <summary>A delivery a Worker claimed, with everything needed to send it.</summary>
internal sealed record ClaimedDelivery(
    Guid Id,
    Guid TenantId,
    Guid EndpointId,
    Guid EventId,
    int AttemptNumber,
    string EventType,
    string Payload,
    string Url,
    IReadOnlyDictionary<string, string> Headers,
    string Secret,
    string? PreviousSecret,
    DateTimeOffset? PreviousSecretExpiresAt);

/// <summary>What one attempt got back.</summary>
internal sealed record AttemptOutcome(ClaimedDelivery Delivery, DateTimeOffset StartedAt, int DurationMs, int? StatusCode, string? ResponseBody, string? Error)
{
    public bool Succeeded => StatusCode is >= 200 and < 300;

    /// <summary>410 Gone: the receiver says this endpoint is no more.</summary>
    public bool Gone => StatusCode == (int)HttpStatusCode.Gone;
}

/// <summary>Sends one signed attempt, with its own timeout, and reads at most the configured part of the response.</summary>
internal sealed class WebhookSender(WebhookHttp http, IOptions<WebhookOptions> options, TimeProvider clock)
{
    public async Task<AttemptOutcome> SendAsync(ClaimedDelivery delivery)
    {
        using var activity = WebhooksTelemetry.Source.StartActivity("webhook send", ActivityKind.Client);
        activity?.SetTag("notify.webhook.endpoint_id", delivery.EndpointId.ToString());
        activity?.SetTag("notify.webhook.event_type", delivery.EventType);
        activity?.SetTag("notify.webhook.attempt", delivery.AttemptNumber);
        var outcome = await AttemptAsync(delivery);
        activity?.SetTag("http.response.status_code", outcome.StatusCode);
        if (!outcome.Succeeded)
        {
            activity?.SetStatus(ActivityStatusCode.Error, outcome.Error);
        }

        WebhooksTelemetry.Record(outcome);
        return outcome;
    }

    private async Task<AttemptOutcome> AttemptAsync(ClaimedDelivery delivery)
    {
        var settings = options.Value;
        var startedAt = clock.GetUtcNow();
        var stopwatch = Stopwatch.StartNew();
        var body = Encoding.UTF8.GetBytes(delivery.Payload);

        var keys = new List<byte[]>(2) { WebhookSigner.KeyOf(delivery.Secret) };
        if (delivery.PreviousSecret is not null && delivery.PreviousSecretExpiresAt > startedAt)
        {
            keys.Add(WebhookSigner.KeyOf(delivery.PreviousSecret));
        }

        var messageId = WebhookSigner.MessageId(delivery.EventId);
        var timestamp = startedAt.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url)
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in delivery.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        request.Headers.TryAddWithoutValidation(WebhookSigner.IdHeader, messageId);
        request.Headers.TryAddWithoutValidation(WebhookSigner.TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation(WebhookSigner.SignatureHeader, WebhookSigner.Sign(messageId, timestamp, body, keys));

        using var timeout = new CancellationTokenSource(settings.AttemptTimeout);
        try
        {
            using var response = await http.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var responseBody = await ReadLimitedAsync(response.Content, settings.ResponseBodyLimit, timeout.Token);
            return new AttemptOutcome(delivery, startedAt, Elapsed(stopwatch), (int)response.StatusCode, responseBody,
                (int)response.StatusCode is >= 200 and < 300 ? null : $"HTTP {(int)response.StatusCode}");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return new AttemptOutcome(delivery, startedAt, Elapsed(stopwatch), null, null, $"Timed out after {settings.AttemptTimeout.TotalSeconds:0.###} s.");
        }
        catch (HttpRequestException ex)
        {
            // The SSRF refusal and socket errors arrive wrapped; their own message says what happened.
            return new AttemptOutcome(delivery, startedAt, Elapsed(stopwatch), null, null, ex.InnerException?.Message ?? ex.Message);
        }
    }

    private static async Task<string?> ReadLimitedAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        // Only the first bytes are read; the rest is never downloaded (the connection is then not reused).
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[limit];
        var read = 0;
        while (read < limit)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return read == 0 ? null : Encoding.UTF8.GetString(buffer, 0, read);
    }

    private static int Elapsed(Stopwatch stopwatch) => (int)Math.Min(int.MaxValue, stopwatch.ElapsedMilliseconds);
}
