namespace Notify.Modules.Templates.Rendering;

/// <summary>The tenant's branding and the per-message parts the email layout shows around the content.</summary>
/// <param name="BrandName">Shown in the header (when there is no logo, and as the logo's alt text) and the footer.</param>
/// <param name="LogoUrl">Absolute http(s) URL of the logo; anything else is ignored.</param>
/// <param name="PrimaryColor">Accent colour as #rgb or #rrggbb; anything else falls back to a neutral colour.</param>
/// <param name="PostalAddress">The sender's postal address for the footer (CAN-SPAM and similar rules ask for one).</param>
/// <param name="Preheader">Preview text mail clients show after the subject; hidden in the message itself.</param>
/// <param name="UnsubscribeUrl">Link for the footer's unsubscribe link; no link when null.</param>
/// <param name="Locale">BCP 47 tag for the document's lang attribute, which screen readers use to pick a voice.</param>
internal sealed record EmailLayoutModel(
    string BrandName,
    string? LogoUrl,
    string PrimaryColor,
    string? PostalAddress,
    string? Preheader,
    string? UnsubscribeUrl,
    string? Locale = null);
