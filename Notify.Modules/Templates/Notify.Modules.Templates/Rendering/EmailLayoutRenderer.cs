using System.Dynamic;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using RazorLight;

namespace Notify.Modules.Templates.Rendering;

/// <summary>
/// Wraps rendered content in the email layout that ships with this module (Layouts/EmailLayout.cshtml, embedded).
/// Razor is C#, so only trusted templates from this repository go through RazorLight, never tenant text.
/// One instance serves the process; the layout compiles once, on first use or <see cref="WarmUpAsync"/>.
/// </summary>
internal sealed partial class EmailLayoutRenderer
{
    private const string LayoutResource = "Notify.Modules.Templates.Rendering.Layouts.EmailLayout.cshtml";
    private const string NeutralColor = "#52525b";

    // Mail clients fill the preview with body text after a short preheader; invisible characters push it out.
    private static readonly string PreheaderPadding = string.Concat(Enumerable.Repeat("&#847;&zwnj;&nbsp;", 80));

    private readonly RazorLightEngine _engine;
    private readonly string _layoutKey;

    public EmailLayoutRenderer()
    {
        var source = ReadLayout();
        // Keyed by content: a changed layout (a new deployment, a hot reload) can never hit an old compiled entry.
        _layoutKey = "email-layout-" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(source)));
        _engine = new RazorLightEngineBuilder()
            // RazorLight compiles against the references of an "operating assembly", by default the entry assembly,
            // read from its deps.json; that lists them only when the host sets PreserveCompilationContext (test hosts
            // and our apps do not). RazorLight's own assembly has no deps.json, so RazorLight walks its references
            // instead: exactly what a layout needs (Razor runtime, Microsoft.CSharp for dynamic), in any host.
            .SetOperatingAssembly(typeof(RazorLightEngine).Assembly)
            .UseNoProject()
            .AddDynamicTemplates(new Dictionary<string, string> { [_layoutKey] = source })
            .UseMemoryCachingProvider()
            .Build();
    }

    private readonly Lock _compileGate = new();
    private Task? _compiled;

    /// <summary>
    /// Compiles the layout once per process (concurrent first callers share one compilation; a failed one is
    /// retried by the next caller). Called at startup, so no email waits a second or two for Roslyn.
    /// </summary>
    public Task WarmUpAsync()
    {
        lock (_compileGate)
        {
            if (_compiled is null || _compiled.IsFaulted || _compiled.IsCanceled)
            {
                _compiled = _engine.CompileTemplateAsync(_layoutKey);
            }

            return _compiled;
        }
    }

    /// <summary>The complete email HTML: <paramref name="contentHtml"/> (trusted, already encoded) inside the layout.</summary>
    public async Task<string> WrapAsync(string contentHtml, EmailLayoutModel model)
    {
        ArgumentNullException.ThrowIfNull(contentHtml);
        ArgumentNullException.ThrowIfNull(model);
        // Each call gets a fresh page instance from the cached compiled type, so concurrent renders do not share state.
        await WarmUpAsync();
        var page = await _engine.CompileTemplateAsync(_layoutKey);
        return await _engine.RenderTemplateAsync(page, ToView(contentHtml, model));
    }

    // RazorLight compiles the layout into an assembly of its own, which cannot see this module's internal types;
    // the layout therefore reads a dynamic object, filled here with values already checked.
    private static ExpandoObject ToView(string contentHtml, EmailLayoutModel model)
    {
        var preheader = string.IsNullOrWhiteSpace(model.Preheader) ? null : model.Preheader.Trim();
        IDictionary<string, object?> view = new ExpandoObject();
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
        return (ExpandoObject)view;
    }

    private static bool IsWebUrl(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);

    private static string ReadLayout()
    {
        using var stream = typeof(EmailLayoutRenderer).Assembly.GetManifestResourceStream(LayoutResource)
            ?? throw new InvalidOperationException($"The embedded resource {LayoutResource} is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    [GeneratedRegex("^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$", RegexOptions.CultureInvariant)]
    private static partial Regex HexColorRegex();
}
