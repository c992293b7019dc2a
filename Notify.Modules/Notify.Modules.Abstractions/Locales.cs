using System.Globalization;

namespace Notify.Modules.Abstractions;

public static class Locales
{
    /// <summary>True for a BCP 47 tag of a culture this runtime knows (en, pt-BR), false for anything else.</summary>
    public static bool IsKnown(string? locale)
    {
        if (string.IsNullOrWhiteSpace(locale))
        {
            return false;
        }

        try
        {
            return !CultureInfo.GetCultureInfo(locale, predefinedOnly: true).Equals(CultureInfo.InvariantCulture);
        }
        catch (CultureNotFoundException)
        {
            return false;
        }
    }
}
