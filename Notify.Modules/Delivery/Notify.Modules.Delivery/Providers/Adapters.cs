using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Notify.Modules.Abstractions.Security;
using Npgsql;

namespace Notify.Modules.Delivery.Providers;

/// <summary>
/// The development sink: records the message in <c>delivery.sink_messages</c> (listed by <c>GET /v1/sink-messages</c>)
/// instead of sending it. A provider like any other, so the whole pipeline runs with no credentials.
/// </summary>
internal sealed class SinkProvider(NpgsqlDataSource dataSource, TimeProvider clock) : IChannelProvider
{
    public string Kind => ProviderKinds.Sink;

    public async Task<string> SendAsync(ProviderSend send, CancellationToken ct)
    {
        // Nothing leaves the process here: the hand-over simply commits before the row that stands for "sent".
        var handOver = await send.BeforeEnd(ct) ?? throw new Sending.HandoverRefusedException();
        await handOver.CommitAsync();

        // The delivery id is the row's id: a delivery is recorded once, however often it is handed over.
        await using var command = dataSource.CreateCommand("""
            INSERT INTO delivery.sink_messages (id, tenant_id, provider_id, delivery_id, channel, address, content, created_at)
            VALUES ($1, $2, $3, $1, $4, $5, $6::jsonb, $7) ON CONFLICT (id) DO NOTHING
            """);
        command.Parameters.AddWithValue(send.Delivery.Id);
        command.Parameters.AddWithValue(send.Delivery.TenantId);
        command.Parameters.AddWithValue(send.Provider.Config.Id);
        command.Parameters.AddWithValue(send.Delivery.Channel);
        command.Parameters.AddWithValue((object?)send.Delivery.Address ?? DBNull.Value);
        command.Parameters.AddWithValue(send.Delivery.Content ?? "{}");
        command.Parameters.AddWithValue(clock.GetUtcNow());
        await command.ExecuteNonQueryAsync(ct);
        return $"sink_{send.Delivery.Id:N}";
    }
}

/// <summary>
/// SMS through Twilio's Messages API (<c>POST /2010-04-01/Accounts/{AccountSid}/Messages.json</c>, form-encoded, basic
/// auth). Settings: <c>baseUrl</c> (default https://api.twilio.com), <c>from</c> or <c>messagingServiceSid</c>, optional
/// <c>statusCallback</c>. Credentials: <c>accountSid</c>, <c>authToken</c>.
/// </summary>
internal sealed class TwilioSmsProvider(ProviderHttp http) : IChannelProvider
{
    /// <summary>Twilio errors that mean the number cannot take SMS (invalid, landline, unsubscribed, unreachable region).</summary>
    private static readonly HashSet<int> RecipientErrors = [21211, 21214, 21407, 21408, 21610, 21612, 21614];

    public string Kind => ProviderKinds.Twilio;

    public async Task<string> SendAsync(ProviderSend send, CancellationToken ct)
    {
        var provider = send.Provider;
        var accountSid = provider.Credential("accountSid") ?? throw Misconfigured("accountSid");
        var authToken = provider.Credential("authToken") ?? throw Misconfigured("authToken");
        var form = new List<KeyValuePair<string, string>>
        {
            new("To", send.Delivery.Address ?? ""),
            new("Body", send.Content.Text ?? send.Content.Body ?? ""),
        };
        if (provider.Setting("messagingServiceSid") is { } service)
        {
            form.Add(new("MessagingServiceSid", service));
        }
        else
        {
            form.Add(new("From", provider.Setting("from") ?? throw Misconfigured("from")));
        }

        if (provider.Setting("statusCallback") is { } callback)
        {
            form.Add(new("StatusCallback", callback));
        }

        var baseUrl = (provider.Setting("baseUrl") ?? "https://api.twilio.com").TrimEnd('/');
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{baseUrl}/2010-04-01/Accounts/{Uri.EscapeDataString(accountSid)}/Messages.json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{accountSid}:{authToken}")));
        var body = Encoding.UTF8.GetBytes(string.Join('&', form.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}")));
        var (status, answer) = await http.SendAsync(request, new HandoverContent(body, "application/x-www-form-urlencoded", send.BeforeEnd), ct);
        using var json = TryParse(answer);
        if ((int)status is >= 200 and < 300 && json?.RootElement.TryGetProperty("sid", out var sid) == true && sid.GetString() is { Length: > 0 } id)
        {
            return id;
        }

        var code = json?.RootElement.TryGetProperty("code", out var c) == true && c.ValueKind == JsonValueKind.Number ? c.GetInt32() : 0;
        var message = json?.RootElement.TryGetProperty("message", out var m) == true ? m.GetString() : answer;
        var failure = RecipientErrors.Contains(code) ? ProviderFailure.RecipientInvalid : ProviderHttp.FailureOf(status);
        throw new ProviderException(failure, $"Twilio answered {(int)status} (code {code}): {message}");
    }

    private static JsonDocument? TryParse(string text)
    {
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ProviderException Misconfigured(string name) =>
        new(ProviderFailure.Permanent, $"The Twilio provider has no '{name}' configured.");
}

/// <summary>
/// SMS through any HTTP gateway. Settings: <c>url</c> (<c>{to}</c> and <c>{deliveryId}</c> are replaced, URL-escaped),
/// <c>method</c> (default POST), <c>body</c> (a JSON template: <c>{{to}}</c>, <c>{{text}}</c>, <c>{{deliveryId}}</c> are
/// replaced with JSON-escaped values), optional <c>messageIdField</c> (a top-level field of the JSON answer). Every
/// credential named <c>header:Name</c> is sent as header <c>Name</c> (an API key, say).
/// </summary>
internal sealed class HttpSmsProvider(ProviderHttp http) : IChannelProvider
{
    public string Kind => ProviderKinds.HttpSms;

    public async Task<string> SendAsync(ProviderSend send, CancellationToken ct)
    {
        var provider = send.Provider;
        var to = send.Delivery.Address ?? "";
        var text = send.Content.Text ?? send.Content.Body ?? "";
        var url = (provider.Setting("url") ?? throw new ProviderException(ProviderFailure.Permanent, "The HTTP SMS provider has no 'url' configured."))
            .Replace("{to}", Uri.EscapeDataString(to), StringComparison.Ordinal)
            .Replace("{deliveryId}", send.Delivery.Id.ToString(), StringComparison.Ordinal);
        var template = provider.Setting("body") ?? """{"to":"{{to}}","text":"{{text}}"}""";
        var body = template
            .Replace("{{to}}", JsonEscaped(to), StringComparison.Ordinal)
            .Replace("{{text}}", JsonEscaped(text), StringComparison.Ordinal)
            .Replace("{{deliveryId}}", send.Delivery.Id.ToString(), StringComparison.Ordinal);
        using var request = new HttpRequestMessage(new HttpMethod(provider.Setting("method") ?? "POST"), url);
        foreach (var (name, value) in provider.Credentials.Where(c => c.Key.StartsWith("header:", StringComparison.Ordinal)))
        {
            request.Headers.TryAddWithoutValidation(name["header:".Length..], value);
        }

        // The gateway may deduplicate a resend of the same delivery.
        request.Headers.TryAddWithoutValidation("Idempotency-Key", send.Delivery.Id.ToString());
        var (status, answer) = await http.SendAsync(request, new HandoverContent(Encoding.UTF8.GetBytes(body), "application/json", send.BeforeEnd), ct);
        if ((int)status is < 200 or >= 300)
        {
            throw new ProviderException(ProviderHttp.FailureOf(status), $"The SMS gateway answered {(int)status}: {Shorten(answer)}");
        }

        if (provider.Setting("messageIdField") is { } field)
        {
            try
            {
                using var json = JsonDocument.Parse(answer);
                if (json.RootElement.TryGetProperty(field, out var id) && id.ToString() is { Length: > 0 } value)
                {
                    return value;
                }
            }
            catch (JsonException)
            {
                // Sent all the same; the delivery id stands in for the gateway's id.
            }
        }

        return send.Delivery.Id.ToString();
    }

    private static string JsonEscaped(string value)
    {
        var quoted = JsonSerializer.Serialize(value);
        return quoted[1..^1];
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300];
}

/// <summary>
/// The webhook channel: the rendered body POSTed to the recipient's URL, signed like Notify's own webhooks (Standard
/// Webhooks: <c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature</c>) with the provider's <c>secret</c>.
/// The webhook id is the delivery's, so the receiver can deduplicate.
/// </summary>
internal sealed class WebhookChannelProvider(ProviderHttp http, TimeProvider clock) : IChannelProvider
{
    public string Kind => ProviderKinds.Webhook;

    public async Task<string> SendAsync(ProviderSend send, CancellationToken ct)
    {
        if (!Uri.TryCreate(send.Delivery.Address, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http"))
        {
            throw new ProviderException(ProviderFailure.RecipientInvalid, $"'{send.Delivery.Address}' is not an http(s) URL.");
        }

        var secret = send.Provider.Credential("secret") ?? throw new ProviderException(ProviderFailure.Permanent, "The webhook provider has no 'secret' configured.");
        var body = Encoding.UTF8.GetBytes(send.Content.Body ?? JsonSerializer.Serialize(send.Content, JsonSerializerOptions.Web));
        var id = WebhookSigner.MessageId(send.Delivery.Id);
        var timestamp = clock.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Headers.TryAddWithoutValidation(WebhookSigner.IdHeader, id);
        request.Headers.TryAddWithoutValidation(WebhookSigner.TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation(WebhookSigner.SignatureHeader, WebhookSigner.Sign(id, timestamp, body, [WebhookSigner.KeyOf(secret)]));
        var (status, answer) = await http.SendAsync(request, new HandoverContent(body, "application/json", send.BeforeEnd), ct);
        if ((int)status is >= 200 and < 300)
        {
            return id;
        }

        // 410 Gone: the receiver says this URL is no more.
        var failure = status == HttpStatusCode.Gone ? ProviderFailure.RecipientInvalid : ProviderHttp.FailureOf(status);
        throw new ProviderException(failure, $"The webhook URL answered {(int)status}: {(answer.Length <= 300 ? answer : answer[..300])}");
    }
}
