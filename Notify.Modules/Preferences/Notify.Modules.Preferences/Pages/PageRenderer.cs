using System.Dynamic;
using Notify.Modules.Abstractions.Rendering;

namespace Notify.Modules.Preferences.Pages;

/// <summary>Renders the recipient pages (trusted Razor embedded in this module) inside the shared page frame.</summary>
internal sealed class PageRenderer
{
    public const string PreferenceCenter = "preference-center";
    public const string Unsubscribe = "unsubscribe";
    public const string Message = "message";
    private const string Layout = "layout";

    private readonly TrustedRazorTemplates _templates = new(typeof(PageRenderer).Assembly, new Dictionary<string, string>
    {
        [Layout] = "Notify.Modules.Preferences.Pages.PageLayout.cshtml",
        [PreferenceCenter] = "Notify.Modules.Preferences.Pages.PreferenceCenter.cshtml",
        [Unsubscribe] = "Notify.Modules.Preferences.Pages.Unsubscribe.cshtml",
        [Message] = "Notify.Modules.Preferences.Pages.Message.cshtml",
    });

    public Task WarmUpAsync() => _templates.WarmUpAsync();

    public async Task<string> RenderAsync(string page, string title, ExpandoObject model)
    {
        var body = await _templates.RenderAsync(page, model);
        return await _templates.RenderAsync(Layout, View(new() { ["Title"] = title, ["Body"] = body }));
    }

    /// <summary>A page model: RazorLight's compiled pages cannot see this module's internal types, so they read dynamic objects.</summary>
    public static ExpandoObject View(Dictionary<string, object?> values)
    {
        var view = new ExpandoObject();
        var fields = (IDictionary<string, object?>)view;
        foreach (var (key, value) in values)
        {
            fields[key] = value;
        }

        return view;
    }
}
