using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FastEndpoints;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Providers;

namespace Notify.Modules.Delivery.Features.Providers;

/// <summary>Receipts in Notify's own form (for sink, http_sms and webhook providers, or a relay in front of any provider).</summary>
public sealed record ProviderEventsBody(IReadOnlyList<ProviderEventItem> Events);

/// <summary>One receipt: the provider's message id (as recorded on the delivery), what happened, and optionally why.</summary>
public sealed record ProviderEventItem(string MessageId, string Type, string? Detail);

/// <summary>What became of each receipt: applied, already_past (the delivery had moved beyond it), suppressed, unknown_message.</summary>
public sealed record ProviderEventsResponse(IReadOnlyList<ProviderEventOutcome> Results);

public sealed record ProviderEventOutcome(string MessageId, string Outcome);

/// <summary>
/// <c>POST /v1/providers/{providerId}/events</c>: delivery receipts, bounces and complaints from a provider. No API key —
/// providers cannot hold one — so every request must carry its provider's signature: Twilio's
/// <c>X-Twilio-Signature</c> (HMAC-SHA1 of the URL and the form, with the account's auth token) for twilio providers;
/// SendGrid's signed Event Webhook (ECDSA) for sendgrid providers with an <c>eventWebhookKey</c>; for the others
/// Notify's own JSON form signed the Standard Webhooks way with the provider's <c>receiptSecret</c>.
/// </summary>
internal sealed class ProviderEventsEndpoint(DeliveryDbContext db, ProviderCredentials credentials, ReceiptProcessor receipts, IConfiguration configuration, TimeProvider clock)
    : EndpointWithoutRequest<ProviderEventsResponse>
{
    /// <summary>How far a signed receipt's timestamp may be from now (replays of old receipts are refused).</summary>
    private static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    public override void Configure()
    {
        Post("/v1/providers/{providerId}/events");
        AllowAnonymous();
        // No declared content type: Twilio posts a form, the others JSON; the handler reads the body itself.
        Description(b => b.WithTags("Providers"));
        Summary(s =>
        {
            s.Summary = "Receive delivery receipts, bounces and complaints from a provider (signed by the provider)";
            s.Description = "Twilio providers: Twilio's status callback form, verified with X-Twilio-Signature. Other providers: " +
                "{\"events\":[{\"messageId\",\"type\":\"delivered|bounced|soft_bounced|complained|failed\",\"detail\"}]} signed with " +
                "webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks) using the provider's receiptSecret credential. " +
                "Bounces and complaints suppress the address; statuses only move forward.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var providerId = Route<Guid>("providerId", isRequired: false);
        if (await db.Providers.AsNoTracking().SingleOrDefaultAsync(p => p.Id == providerId, ct) is not { } provider)
        {
            await Send.ResultAsync(ProblemResults.NotFound($"Provider '{Route<string>("providerId", isRequired: false)}' was not found."));
            return;
        }

        var secrets = credentials.Unprotect(provider.ProtectedCredentials);
        var parsed = provider.Kind switch
        {
            ProviderKinds.Twilio => await ReadTwilioAsync(secrets, ct),
            ProviderKinds.SendGrid when secrets.ContainsKey("eventWebhookKey") => await ReadSendGridAsync(secrets["eventWebhookKey"], ct),
            _ => await ReadSignedJsonAsync(secrets, ct),
        };
        if (parsed.Problem is { } problem)
        {
            await Send.ResultAsync(problem);
            return;
        }

        var results = await receipts.ApplyAsync(provider, parsed.Receipts, ct);
        await Send.OkAsync(new ProviderEventsResponse([.. results.Select(r => new ProviderEventOutcome(r.ProviderMessageId, r.Outcome))]), ct);
    }

    private sealed record Parsed(IReadOnlyList<Receipt> Receipts, IResult? Problem);

    /// <summary>Twilio's status callback: MessageSid, MessageStatus (delivered, undelivered, failed …), ErrorCode.</summary>
    private async Task<Parsed> ReadTwilioAsync(IReadOnlyDictionary<string, string> secrets, CancellationToken ct)
    {
        if (!HttpContext.Request.HasFormContentType)
        {
            return new([], Unauthorized("A Twilio status callback is form-encoded."));
        }

        var form = await HttpContext.Request.ReadFormAsync(ct);
        var signature = HttpContext.Request.Headers["X-Twilio-Signature"].ToString();
        if (secrets.GetValueOrDefault("authToken") is not { } authToken || !TwilioSignatureValid(authToken, form, signature))
        {
            return new([], Unauthorized("X-Twilio-Signature does not match the provider's auth token."));
        }

        var sid = form["MessageSid"].ToString();
        var detail = form["ErrorCode"].ToString() is { Length: > 0 } code ? $"Twilio error {code}" : null;
        // Twilio's "undelivered" for an unknown or unreachable handset (30003, 30005, 30006) is a hard bounce of the number.
        var type = form["MessageStatus"].ToString() switch
        {
            "delivered" => ReceiptTypes.Delivered,
            "undelivered" when form["ErrorCode"] == "30005" || form["ErrorCode"] == "30006" => ReceiptTypes.Bounced,
            "undelivered" => ReceiptTypes.SoftBounced,
            "failed" => ReceiptTypes.Failed,
            _ => null, // queued, sending, sent: nothing new
        };
        return new(type is null || sid.Length == 0 ? [] : [new Receipt(sid, type, detail)], null);
    }

    private bool TwilioSignatureValid(string authToken, IFormCollection form, string signature)
    {
        // Twilio signs the URL it called followed by every form field's name and value, sorted by name.
        var data = new StringBuilder(PublicUrl());
        foreach (var key in form.Keys.Order(StringComparer.Ordinal))
        {
            data.Append(key).Append(form[key].ToString());
        }

        var expected = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(authToken), Encoding.UTF8.GetBytes(data.ToString())));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature));
    }

    /// <summary>The URL as the provider called it: behind a proxy, the public base URL rather than what reached us.</summary>
    private string PublicUrl()
    {
        var request = HttpContext.Request;
        var baseUrl = configuration["Notify:PublicBaseUrl"]?.TrimEnd('/') ?? $"{request.Scheme}://{request.Host}{request.PathBase}";
        return $"{baseUrl}{request.Path}{request.QueryString}";
    }

    /// <summary>
    /// SendGrid's Event Webhook: a JSON array of events, signed with ECDSA (P-256, SHA-256) over the timestamp header and
    /// the body; the key is the provider's <c>eventWebhookKey</c> (SendGrid's verification key, base64). The delivery
    /// id comes back as the custom argument the adapter sent.
    /// </summary>
    private async Task<Parsed> ReadSendGridAsync(string verificationKey, CancellationToken ct)
    {
        var body = await BodyAsync(ct);
        var timestamp = HttpContext.Request.Headers["X-Twilio-Email-Event-Webhook-Timestamp"].ToString();
        bool valid;
        try
        {
            using var key = ECDsa.Create();
            key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(verificationKey), out _);
            byte[] signed = [.. Encoding.UTF8.GetBytes(timestamp), .. body];
            valid = key.VerifyData(signed,
                Convert.FromBase64String(HttpContext.Request.Headers["X-Twilio-Email-Event-Webhook-Signature"].ToString()),
                HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException)
        {
            valid = false;
        }

        if (!valid || !long.TryParse(timestamp, out var seconds) || Math.Abs(clock.GetUtcNow().ToUnixTimeSeconds() - seconds) > Tolerance.TotalSeconds)
        {
            return new([], Unauthorized("The SendGrid event signature does not verify with the provider's eventWebhookKey (or its timestamp is stale)."));
        }

        JsonDocument events;
        try
        {
            events = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            return new([], ProblemResults.UnprocessableField("events", $"The body is not valid JSON: {ex.Message}"));
        }

        using var owned = events;
        if (events.RootElement.ValueKind != JsonValueKind.Array)
        {
            return new([], ProblemResults.UnprocessableField("events", "SendGrid posts a JSON array of events."));
        }

        var receipts = new List<Receipt>();
        foreach (var item in events.RootElement.EnumerateArray())
        {
            string? Field(string name) => item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            // A "blocked" bounce is a temporary refusal; "deferred" is SendGrid still trying, nothing to record.
            var type = (Field("event"), Field("type")) switch
            {
                ("delivered", _) => ReceiptTypes.Delivered,
                ("bounce", "blocked") => ReceiptTypes.SoftBounced,
                ("bounce", _) => ReceiptTypes.Bounced,
                ("spamreport", _) => ReceiptTypes.Complained,
                ("dropped", _) => ReceiptTypes.Failed,
                _ => null,
            };
            if (type is not null)
            {
                var messageId = Field("sg_message_id") is { } sg ? sg.Split('.')[0] : "";
                receipts.Add(new Receipt(messageId, type, Field("reason"), Guid.TryParse(Field("notify_delivery_id"), out var deliveryId) ? deliveryId : null));
            }
        }

        return new(receipts, null);
    }

    /// <summary>Notify's receipt form, signed with the provider's receiptSecret (Standard Webhooks).</summary>
    private async Task<Parsed> ReadSignedJsonAsync(IReadOnlyDictionary<string, string> secrets, CancellationToken ct)
    {
        if (secrets.GetValueOrDefault("receiptSecret") is not { } secret)
        {
            return new([], Unauthorized("This provider has no receiptSecret credential: set one to accept its receipts."));
        }

        var body = await BodyAsync(ct);
        var headers = HttpContext.Request.Headers;
        var id = headers[WebhookSigner.IdHeader].ToString();
        if (!long.TryParse(headers[WebhookSigner.TimestampHeader], out var timestamp)
            || Math.Abs(clock.GetUtcNow().ToUnixTimeSeconds() - timestamp) > Tolerance.TotalSeconds)
        {
            return new([], Unauthorized("webhook-timestamp is missing or more than 5 minutes from now."));
        }

        if (id.Length == 0 || !WebhookSigner.Verify(id, timestamp, body, headers[WebhookSigner.SignatureHeader].ToString(), WebhookSigner.KeyOf(secret)))
        {
            return new([], Unauthorized("webhook-signature does not match the provider's receiptSecret."));
        }

        ProviderEventsBody? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<ProviderEventsBody>(body, JsonSerializerOptions.Web);
        }
        catch (JsonException ex)
        {
            return new([], ProblemResults.UnprocessableField("events", $"The body is not valid JSON: {ex.Message}"));
        }

        if (parsed?.Events is not { Count: > 0 and <= 1000 } events)
        {
            return new([], ProblemResults.UnprocessableField("events", "events must list 1 to 1000 receipts."));
        }

        var problems = events.Select((e, i) => (e, i))
            .Where(x => string.IsNullOrWhiteSpace(x.e.MessageId) || !ReceiptTypes.All.Contains(x.e.Type))
            .Select(x => $"events[{x.i}] needs a messageId and a type of {string.Join(", ", ReceiptTypes.All)}.")
            .ToList();
        return problems.Count > 0
            ? new([], ProblemResults.UnprocessableField("events", string.Join(" ", problems)))
            : new([.. events.Select(e => new Receipt(e.MessageId, e.Type, e.Detail))], null);
    }

    private async Task<byte[]> BodyAsync(CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await HttpContext.Request.Body.CopyToAsync(buffer, ct);
        return buffer.ToArray();
    }

    private static IResult Unauthorized(string detail) => ProblemResults.Unauthorized(detail);
}
