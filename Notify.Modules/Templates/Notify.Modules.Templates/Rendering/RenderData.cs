using System.Text.Json;

namespace Notify.Modules.Templates.Rendering;

/// <summary>Turns request JSON into the plain dictionaries, lists and primitives templates are rendered with.</summary>
internal static class RenderData
{
    /// <summary>Converts a JSON object; throws <see cref="ArgumentException"/> for any other kind of value.</summary>
    public static IReadOnlyDictionary<string, object?> FromJson(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"Template data must be a JSON object, not {json.ValueKind}.", nameof(json));
        }

        return ToDictionary(json);
    }

    /// <summary>Converts any JSON value (e.g. a declared variable's sample).</summary>
    public static object? FromJsonValue(JsonElement json) => ToValue(json);

    // Concrete Dictionary and List on purpose: Fluid maps IDictionary<string, object> and IEnumerable to Liquid
    // hashes and arrays; a type that is only IReadOnlyDictionary would be an opaque object to it.
    private static Dictionary<string, object?> ToDictionary(JsonElement json)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in json.EnumerateObject())
        {
            result[property.Name] = ToValue(property.Value);
        }

        return result;
    }

    private static object? ToValue(JsonElement json) => json.ValueKind switch
    {
        JsonValueKind.Object => ToDictionary(json),
        JsonValueKind.Array => json.EnumerateArray().Select(ToValue).ToList(),
        JsonValueKind.String => json.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number => ToNumber(json),
        _ => null,
    };

    // Whole numbers stay exact as long; fractions become decimal so amounts like 12.50 keep their cents exactly;
    // only what decimal cannot hold (1e300) falls back to double.
    private static object ToNumber(JsonElement json) =>
        json.TryGetInt64(out var whole) ? whole
        : json.TryGetDecimal(out var exact) ? exact
        : json.TryGetDouble(out var approximate) ? approximate
        : json.GetRawText();
}
