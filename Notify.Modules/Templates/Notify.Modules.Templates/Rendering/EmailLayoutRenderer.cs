using System.Text.RegularExpressions;
using Notify.Modules.Abstractions.Rendering;

namespace Notify.Modules.Templates.Rendering;

/// <summary>
/// Wraps rendered content in the email layout that ships with this module (Layouts/EmailLayout.cshtml, embedded).
/// Razor is C#, so only trusted templates from this repository go through RazorLight, never tenant text.
/// One instance serves the process; the layout compiles once, on first use or <see cref="WarmUpAsync"/>.
/// </summary>
internal sealed partial class EmailLayoutRenderer
{
    private const string Layout = "email-layout";
    private const string NeutralColor = "#52525b";

    // Mail clients fill the preview with body text after a short preheader; invisible characters push it out.
    private static readonly string PreheaderPadding = string.Concat(Enumerable.Repeat("&#847;&zwnj;&nbsp;", 80));

    private readonly TrustedRazorTemplates _templates = new(
        typeof(EmailLayoutRenderer).Assembly,
        new Dictionary<string, string> { [Layout] = "Notify.Modules.Templates.Rendering.Layouts.EmailLayout.cshtml" });

    /// <summary>Compiles the layout once per process; called at startup so no email waits for Roslyn.</summary>
    public Task WarmUpAsync() => _templates.WarmUpAsync();

    /// <summary>The complete email HTML: <paramref name="contentHtml"/> (trusted, already encoded) inside the layout.</summary>
    public Task<string> WrapAsync(string contentHtml, EmailLayoutModel model)
    {
        ArgumentNullException.ThrowIfNull(contentHtml);
        ArgumentNullException.ThrowIfNull(model);
        return _templates.RenderAsync(Layout, ToView(contentHtml, model));
    }

    // RazorLight compiles the layout into an assembly of its own, which cannot see this module's internal types;
    // the layout therefore reads a dictionary (not a dynamic object: every email renders it), filled with values already checked.
    private static Dictionary<string, object?> ToView(string contentHtml, EmailLayoutModel model)
    {
        var preheader = string.IsNullOrWhiteSpace(model.Preheader) ? null : model.Preheader.Trim();
        var view = new Dictionary<string, object?>(StringComparer.Ordinal);
        view["Lang"] = string.IsNullOrWhiteSpace(model.Locale) ? "en" : model.Locale;
        view["BrandName"] = model.BrandName;
        view["LogoUrl"] = IsWebUrl(model.LogoUrl) ? model.LogoUrl : null;
        // The colour goes into style attributes; anything but a hex colour could smuggle in other CSS.
        view["PrimaryColor"] = HexColorRegex().IsMatch(model.PrimaryColor ?? "") ? model.PrimaryColor : NeutralColor;
        view["PostalAddressLines"] = (model.PostalAddress ?? "")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        view["Preheader"] = preheader;
        view["PreheaderPadding"] = PreheaderPadding;
        view["UnsubscribeUrl"] = IsWebUrl(model.UnsubscribeUrl) ? model.UnsubscribeUrl : null;
        view["ContentHtml"] = contentHtml;
        return view;
    }

    private static bool IsWebUrl(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);

    [GeneratedRegex("^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$", RegexOptions.CultureInvariant)]
    private static partial Regex HexColorRegex();
}
