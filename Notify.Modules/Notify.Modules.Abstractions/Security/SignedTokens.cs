using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Notify.Modules.Abstractions.Security;

/// <summary>
/// Short, URL-safe tokens that carry a small payload and an expiry, signed with HMAC-SHA256 under the
/// deployment's signing key (<c>Notify:SigningKey</c>, base64, at least 32 bytes, shared by every API and Worker
/// replica). Recipient-facing links (preference center, unsubscribe, inbox) are authorized by them instead of
/// an API key. The purpose is part of what is signed, so a token issued for one page never opens another.
/// </summary>
public sealed class SignedTokens
{
    public const string ConfigurationKey = "Notify:SigningKey";

    private readonly byte[] _key;
    private readonly TimeProvider _clock;

    public SignedTokens(IConfiguration configuration, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var configured = configuration[ConfigurationKey];
        byte[]? key = null;
        if (string.IsNullOrWhiteSpace(configured) || !TryDecodeKey(configured, out key) || key.Length < 32)
        {
            throw new InvalidOperationException(
                $"{ConfigurationKey} must be set to a base64 key of at least 32 bytes (the AppHost passes its 'signing-key' parameter).");
        }

        _key = key;
        _clock = clock;
    }

    /// <summary>A token for <paramref name="purpose"/> carrying <paramref name="payload"/>, valid for <paramref name="lifetime"/>.</summary>
    public string Issue<T>(string purpose, T payload, TimeSpan lifetime)
        where T : class
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new Envelope<T>(payload, _clock.GetUtcNow().Add(lifetime).ToUnixTimeSeconds()));
        var encoded = Base64Url.EncodeToString(body);
        return encoded + "." + Base64Url.EncodeToString(Sign(purpose, encoded));
    }

    /// <summary>Reads a token issued for <paramref name="purpose"/>; says why when it is tampered with, malformed or expired.</summary>
    public TokenResult<T> Read<T>(string purpose, string? token)
        where T : class
    {
        var dot = token?.IndexOf('.', StringComparison.Ordinal) ?? -1;
        if (dot <= 0)
        {
            return TokenResult<T>.Fail(TokenFailure.Invalid);
        }

        var encoded = token![..dot];
        Span<byte> signature = stackalloc byte[32];
        int written;
        try
        {
            // TryDecode returns false only for a short destination; characters outside base64url throw.
            if (!Base64Url.TryDecodeFromChars(token.AsSpan(dot + 1), signature, out written))
            {
                return TokenResult<T>.Fail(TokenFailure.Invalid);
            }
        }
        catch (FormatException)
        {
            return TokenResult<T>.Fail(TokenFailure.Invalid);
        }

        if (written != 32 || !CryptographicOperations.FixedTimeEquals(signature, Sign(purpose, encoded)))
        {
            return TokenResult<T>.Fail(TokenFailure.Invalid);
        }

        Envelope<T>? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize<Envelope<T>>(Base64Url.DecodeFromChars(encoded));
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            return TokenResult<T>.Fail(TokenFailure.Invalid);
        }

        if (envelope?.Payload is null)
        {
            return TokenResult<T>.Fail(TokenFailure.Invalid);
        }

        return DateTimeOffset.FromUnixTimeSeconds(envelope.ExpiresAt) <= _clock.GetUtcNow()
            ? TokenResult<T>.Fail(TokenFailure.Expired)
            : new TokenResult<T>(envelope.Payload, TokenFailure.None);
    }

    /// <summary>A new random key in the form <see cref="ConfigurationKey"/> expects.</summary>
    public static string GenerateKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private byte[] Sign(string purpose, string encodedPayload) =>
        HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(purpose + "." + encodedPayload));

    private static bool TryDecodeKey(string value, out byte[] key)
    {
        key = new byte[value.Length];
        if (Convert.TryFromBase64String(value, key, out var written))
        {
            key = key[..written];
            return true;
        }

        return false;
    }

    private sealed record Envelope<T>(T Payload, long ExpiresAt);
}

public enum TokenFailure
{
    None,
    /// <summary>Malformed, signed with another key or for another purpose, or altered.</summary>
    Invalid,
    /// <summary>Genuine, but past its expiry.</summary>
    Expired,
}

/// <summary>The payload of a valid token, or why there is none.</summary>
public sealed record TokenResult<T>(T? Payload, TokenFailure Failure)
    where T : class
{
    public bool IsValid => Failure == TokenFailure.None;

    internal static TokenResult<T> Fail(TokenFailure failure) => new(default, failure);
}
