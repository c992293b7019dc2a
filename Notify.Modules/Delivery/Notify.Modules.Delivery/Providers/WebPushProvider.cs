using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Notify.Modules.Delivery.Providers;

/// <summary>
/// Web Push to browsers (RFC 8030): the message is encrypted for the subscription (RFC 8291, <c>aes128gcm</c>) and the
/// request carries a VAPID authorization (RFC 8292). Settings: <c>subject</c> (a <c>mailto:</c> or https URL the push
/// service can reach the sender at). Credentials: <c>vapidPublicKey</c> (the uncompressed P-256 point, base64url) and
/// <c>vapidPrivateKey</c> (its 32-byte scalar, base64url). The device carries the endpoint and the subscription's keys.
/// </summary>
internal sealed class WebPushProvider(ProviderHttp http, TimeProvider clock) : IChannelProvider
{
    public string Kind => ProviderKinds.WebPush;

    public async Task<string> SendAsync(ProviderSend send, CancellationToken ct)
    {
        var device = send.Delivery.Device is null ? default : JsonDocument.Parse(send.Delivery.Device).RootElement;
        var endpoint = send.Delivery.Address;
        if (device.ValueKind != JsonValueKind.Object || !Uri.TryCreate(endpoint, UriKind.Absolute, out var url)
            || Base64UrlOrNull(device, "p256dh") is not { Length: 65 } subscriberKey || Base64UrlOrNull(device, "auth") is not { Length: 16 } authSecret)
        {
            throw new ProviderException(ProviderFailure.RecipientInvalid, "The web push subscription lacks its endpoint, p256dh key or auth secret.");
        }

        var vapidPublic = Base64UrlOrNull(send.Provider.Credential("vapidPublicKey"));
        var vapidPrivate = Base64UrlOrNull(send.Provider.Credential("vapidPrivateKey"));
        if (vapidPublic is not { Length: 65 } || vapidPrivate is not { Length: 32 })
        {
            throw new ProviderException(ProviderFailure.Permanent, "The webpush provider needs credentials.vapidPublicKey (65 bytes) and vapidPrivateKey (32 bytes), base64url.");
        }

        var content = send.Content;
        var payload = JsonSerializer.SerializeToUtf8Bytes(new { title = content.Title, body = content.Body, data = content.Data is null ? (JsonElement?)null : JsonDocument.Parse(content.Data).RootElement },
            JsonSerializerOptions.Web);
        if (payload.Length > MaxPayload)
        {
            throw new ProviderException(ProviderFailure.Permanent, $"The push message is {payload.Length} bytes; web push carries at most {MaxPayload}.");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Headers.TryAddWithoutValidation("TTL", "86400");
        request.Headers.TryAddWithoutValidation("Authorization",
            $"vapid t={VapidToken(url, send.Provider.Setting("subject") ?? "mailto:notify@localhost", vapidPublic, vapidPrivate)}, k={Base64Url.EncodeToString(vapidPublic)}");
        var body = Encrypt(payload, subscriberKey, authSecret);
        var handover = new HandoverContent(body, "application/octet-stream", send.BeforeEnd, charset: null);
        handover.Headers.ContentEncoding.Add("aes128gcm");
        var (status, answer) = await http.SendAsync(request, handover, ct);
        if ((int)status is >= 200 and < 300)
        {
            return send.Delivery.Id.ToString();
        }

        // 404/410: the subscription expired or was withdrawn.
        var failure = status is HttpStatusCode.NotFound or HttpStatusCode.Gone ? ProviderFailure.RecipientInvalid : ProviderHttp.FailureOf(status);
        throw new ProviderException(failure, $"The push service answered {(int)status}: {(answer.Length <= 300 ? answer : answer[..300])}");
    }

    /// <summary>One 4096-byte record holds the payload, its delimiter and the 16-byte tag.</summary>
    private const int MaxPayload = 4096 - 1 - 16;

    /// <summary>
    /// RFC 8291: an ephemeral P-256 key agreed with the subscription's key, mixed with its auth secret into the content
    /// key and nonce (RFC 8188), one record: salt ‖ record size ‖ key id (our public key) ‖ AES-128-GCM(payload ‖ 0x02).
    /// </summary>
    internal static byte[] Encrypt(byte[] payload, byte[] subscriberKey, byte[] authSecret)
    {
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        using var subscriber = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = subscriberKey[1..33], Y = subscriberKey[33..65] },
        });
        var point = ephemeral.ExportParameters(false).Q;
        byte[] ourKey = [0x04, .. point.X!, .. point.Y!];
        var shared = ephemeral.DeriveRawSecretAgreement(subscriber.PublicKey);

        byte[] keyInfo = [.. "WebPush: info\0"u8, .. subscriberKey, .. ourKey];
        var ikm = HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, 32, authSecret, keyInfo);
        var salt = RandomNumberGenerator.GetBytes(16);
        var contentKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, 16, salt, "Content-Encoding: aes128gcm\0"u8.ToArray());
        var nonce = HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, 12, salt, "Content-Encoding: nonce\0"u8.ToArray());

        byte[] plaintext = [.. payload, 0x02]; // the last (and only) record's delimiter
        var cipher = new byte[plaintext.Length];
        var tag = new byte[16];
        using (var aes = new AesGcm(contentKey, tag.Length))
        {
            aes.Encrypt(nonce, plaintext, cipher, tag);
        }

        byte[] recordSize = [0x00, 0x00, 0x10, 0x00]; // 4096, big-endian: more than one record ever needs
        byte[] header = [.. salt, .. recordSize, (byte)ourKey.Length, .. ourKey];
        return [.. header, .. cipher, .. tag];
    }

    /// <summary>RFC 8292's JWT: ES256, audience the push service's origin, valid 12 h, subject our contact.</summary>
    private string VapidToken(Uri endpoint, string subject, byte[] publicKey, byte[] privateKey)
    {
        static string Part(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));
        var header = Part(new { typ = "JWT", alg = "ES256" });
        var claims = Part(new { aud = endpoint.GetLeftPart(UriPartial.Authority), exp = clock.GetUtcNow().AddHours(12).ToUnixTimeSeconds(), sub = subject });
        using var key = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            D = privateKey,
            Q = new ECPoint { X = publicKey[1..33], Y = publicKey[33..65] },
        });
        // .NET signs ECDSA in the IEEE P1363 form (r ‖ s) JWS wants.
        var signature = key.SignData(Encoding.ASCII.GetBytes($"{header}.{claims}"), HashAlgorithmName.SHA256);
        return $"{header}.{claims}.{Base64Url.EncodeToString(signature)}";
    }

    private static byte[]? Base64UrlOrNull(JsonElement device, string name) =>
        device.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? Base64UrlOrNull(value.GetString()) : null;

    private static byte[]? Base64UrlOrNull(string? text)
    {
        try
        {
            return text is null ? null : Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
