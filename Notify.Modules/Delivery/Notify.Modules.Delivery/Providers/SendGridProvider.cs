using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Notify.Modules.Delivery.Providers;

/// <summary>
/// Email through SendGrid's v3 Mail Send API (or anything speaking it): <c>POST /v3/mail/send</c> with a bearer API key.
/// Settings: <c>baseUrl</c> (default https://api.sendgrid.com), <c>from</c> (the sender address), optional <c>fromName</c>.
/// Credentials: <c>apiKey</c>. The message id is SendGrid's <c>X-Message-Id</c>; the delivery id rides along as a custom
/// argument, so SendGrid's event webhooks can name it.
/// </summary>
internal sealed class SendGridProvider(ProviderHttp http) : IChannelProvider
{
    private static readonly JsonSerializerOptions IgnoreNulls = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string Kind => ProviderKinds.SendGrid;

    public async Task<string> SendAsync(ProviderSend send, CancellationToken ct)
    {
        var provider = send.Provider;
        var apiKey = provider.Credential("apiKey") ?? throw new ProviderException(ProviderFailure.Permanent, "The SendGrid provider has no 'apiKey' configured.");
        var from = provider.Setting("from") ?? throw new ProviderException(ProviderFailure.Permanent, "The SendGrid provider has no 'from' configured.");
        var content = send.Content;
        // The one-click unsubscribe headers (RFC 8058), as the SMTP path sets them.
        var headers = send.Unsubscribe is { } unsubscribe
            ? new Dictionary<string, string> { ["List-Unsubscribe"] = $"<{unsubscribe.AbsoluteUri}>", ["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click" }
            : null;
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            personalizations = new[] { new { to = new[] { new { email = send.Delivery.Address } } } },
            from = new { email = from, name = provider.Setting("fromName") },
            subject = content.Subject ?? "",
            content = new[] { new { type = "text/plain", value = content.Text ?? "" } }
                .Concat(content.Html is { } html ? [new { type = "text/html", value = html }] : []),
            headers,
            custom_args = new Dictionary<string, string> { ["notify_delivery_id"] = send.Delivery.Id.ToString() },
        }, IgnoreNulls);
        var baseUrl = (provider.Setting("baseUrl") ?? "https://api.sendgrid.com").TrimEnd('/');
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{baseUrl}/v3/mail/send");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var (status, answer, messageId) = await http.SendWithHeaderAsync(request, new HandoverContent(body, "application/json", send.BeforeEnd), "X-Message-Id", ct);
        if ((int)status is >= 200 and < 300)
        {
            return messageId ?? send.Delivery.Id.ToString();
        }

        throw new ProviderException(ProviderHttp.FailureOf(status), $"SendGrid answered {(int)status}: {(answer.Length <= 300 ? answer : answer[..300])}");
    }
}
