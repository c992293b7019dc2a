using Microsoft.Extensions.Configuration;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Preferences.Contracts;

namespace Notify.Modules.Preferences.Domain;

/// <summary>Who a recipient-facing link is for. Short names keep the signed token, and so the link, short.</summary>
internal sealed record RecipientLinkPayload(Guid T, string U, string? C = null);

/// <summary>Signed, expiring links to the preference center and the unsubscribe page.</summary>
internal sealed class RecipientTokens(SignedTokens tokens, IConfiguration configuration, TimeProvider clock)
{
    public const string PreferencesPurpose = "preference-center";
    public const string UnsubscribePurpose = "unsubscribe";
    public const string PublicBaseUrlKey = "Notify:PublicBaseUrl";

    /// <summary>Long enough for an old email's link to keep working (CAN-SPAM asks for 30 days after sending).</summary>
    public static readonly TimeSpan UnsubscribeLifetime = TimeSpan.FromDays(60);
    public static readonly TimeSpan PreferenceCenterLifetime = TimeSpan.FromDays(14);

    private readonly Uri _baseUrl = new(configuration[PublicBaseUrlKey] ?? "http://localhost:5080", UriKind.Absolute);

    public RecipientLinks LinksFor(Guid tenantId, string userId, string category)
    {
        var now = clock.GetUtcNow();
        var preferences = tokens.Issue(PreferencesPurpose, new RecipientLinkPayload(tenantId, userId), PreferenceCenterLifetime);
        var unsubscribe = tokens.Issue(UnsubscribePurpose, new RecipientLinkPayload(tenantId, userId, category), UnsubscribeLifetime);
        return new RecipientLinks(
            new Uri(_baseUrl, "/preferences?token=" + preferences),
            new Uri(_baseUrl, "/unsubscribe?token=" + unsubscribe),
            now + PreferenceCenterLifetime,
            now + UnsubscribeLifetime);
    }

    public TokenResult<RecipientLinkPayload> Read(string purpose, string? token) => tokens.Read<RecipientLinkPayload>(purpose, token);
}
