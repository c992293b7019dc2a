using System.Security.Cryptography;
using System.Text;

namespace Notify.Modules.Abstractions.Security;

/// <summary>
/// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
/// <c>{webhook-id}.{webhook-timestamp}.{body}</c> with the secret's bytes, sent as <c>v1,&lt;base64&gt;</c>;
/// several signatures (during a secret rotation) are separated by spaces.
/// </summary>
public static class WebhookSigner
{
    public const string SecretPrefix = "whsec_";
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";

    /// <summary>A new secret: 32 random bytes (the spec asks for 24 to 64).</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static byte[] KeyOf(string secret) =>
        Convert.FromBase64String(secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret);

    /// <summary>The <c>webhook-signature</c> value: one <c>v1,</c> signature per key, space-separated.</summary>
    public static string Sign(string messageId, long timestamp, ReadOnlySpan<byte> body, IReadOnlyList<byte[]> keys)
    {
        var prefix = Encoding.UTF8.GetBytes($"{messageId}.{timestamp}.");
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));

        var header = new StringBuilder();
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        foreach (var key in keys)
        {
            HMACSHA256.HashData(key, content, mac);
            if (header.Length > 0)
            {
                header.Append(' ');
            }

            header.Append("v1,").Append(Convert.ToBase64String(mac));
        }

        return header.ToString();
    }

    /// <summary>Whether one of the <c>v1,</c> signatures in <paramref name="signatureHeader"/> is this message's under <paramref name="key"/> (constant time).</summary>
    public static bool Verify(string messageId, long timestamp, ReadOnlySpan<byte> body, string signatureHeader, byte[] key)
    {
        var expected = Encoding.ASCII.GetBytes(Sign(messageId, timestamp, body, [key]));
        return signatureHeader.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Any(given => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(given), expected));
    }

    /// <summary>The wire form of a message id: <c>msg_</c> + the event's id as 32 hex digits.</summary>
    public static string MessageId(Guid eventId) => "msg_" + eventId.ToString("N");
}
