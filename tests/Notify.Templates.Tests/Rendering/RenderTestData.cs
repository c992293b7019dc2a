using System.Text.Json;
using Notify.Modules.Templates.Rendering;

namespace Notify.Templates.Tests.Rendering;

/// <summary>Builds render contexts from JSON the way the API will, at a fixed "now".</summary>
internal static class RenderTestData
{
    public static readonly DateTimeOffset Now = new(2025, 3, 28, 12, 0, 0, TimeSpan.Zero);

    public static RenderContext Context(string json = "{}", string locale = "en-US", string timeZone = "UTC") =>
        new(RenderData.FromJson(JsonSerializer.Deserialize<JsonElement>(json)), locale, timeZone, Now);

    public static RenderContext Context(IReadOnlyDictionary<string, object?> data, string locale = "en-US", string timeZone = "UTC") =>
        new(data, locale, timeZone, Now);

    /// <summary>.NET cultures put a no-break space between amount and symbol; tests compare with plain spaces.</summary>
    public static string PlainSpaces(string text) => text.Replace('\u00A0', ' ').Replace('\u202F', ' ');
}
