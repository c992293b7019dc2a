using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Notify.Modules.Access.Domain;

internal sealed class ApiKey
{
    public const string KeyPrefix = "ntf_";
    private const int DisplayPrefixLength = 12;

    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public required string Name { get; init; }

    /// <summary>The first characters of the key, so people can tell keys apart; the key itself is never stored.</summary>
    public required string Prefix { get; init; }

    /// <summary>SHA-256 of the full key. Keys are 256 random bits, so a fast unsalted hash is safe to look up by.</summary>
    public required byte[] KeyHash { get; init; }

    public required string[] Scopes { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public Guid? CreatedByKeyId { get; init; }
    public DateTimeOffset? LastUsedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>Creates a key; the plain key is returned once and only its hash is kept.</summary>
    public static (ApiKey Key, string PlainKey) Create(Guid id, Guid tenantId, string name, IEnumerable<string> scopes, DateTimeOffset? expiresAt, DateTimeOffset now, Guid? createdBy)
    {
        var plain = KeyPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return (FromPlainKey(id, tenantId, name, plain, scopes, expiresAt, now, createdBy), plain);
    }

    /// <summary>Registers a key whose plain value is already known (the operator-supplied bootstrap key).</summary>
    public static ApiKey FromPlainKey(Guid id, Guid tenantId, string name, string plainKey, IEnumerable<string> scopes, DateTimeOffset? expiresAt, DateTimeOffset now, Guid? createdBy) => new()
    {
        Id = id,
        TenantId = tenantId,
        Name = name,
        Prefix = plainKey[..Math.Min(DisplayPrefixLength, plainKey.Length)],
        KeyHash = Hash(plainKey),
        Scopes = scopes.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray(),
        ExpiresAt = expiresAt,
        CreatedAt = now,
        CreatedByKeyId = createdBy,
    };

    public static byte[] Hash(string plainKey) => SHA256.HashData(Encoding.UTF8.GetBytes(plainKey));
}
