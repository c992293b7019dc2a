namespace Notify.Modules.Templates.Rendering;

/// <summary>Everything one render needs besides the template itself.</summary>
/// <param name="Data">
/// The template's variables: strings, booleans, numbers (long, double, decimal), null, nested
/// <see cref="IReadOnlyDictionary{TKey, TValue}"/> and <see cref="IReadOnlyList{T}"/>. See <see cref="RenderData.FromJson"/>.
/// </param>
/// <param name="Locale">BCP 47 tag of the recipient (e.g. "pt-BR"); drives number, currency and date formatting.</param>
/// <param name="TimeZone">IANA id of the recipient's zone (e.g. "Europe/Lisbon"); date filters show times in it.</param>
/// <param name="Now">The current instant, from <see cref="TimeProvider"/>; relative times are measured from it.</param>
internal sealed record RenderContext(
    IReadOnlyDictionary<string, object?> Data,
    string Locale,
    string TimeZone,
    DateTimeOffset Now);
