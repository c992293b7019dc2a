using System.Globalization;
using Fluid;
using Fluid.Filters;
using Fluid.Values;

namespace Notify.Modules.Templates.Rendering;

/// <summary>
/// Filters Notify adds to Liquid. Dates are shown in the recipient's time zone and culture (the context's
/// <see cref="TemplateContext.TimeZone"/> and <see cref="TemplateContext.CultureInfo"/>), numbers and amounts in
/// their culture. Like Liquid's own filters, a value that is not a date or number passes through unchanged, so a
/// mistake shows up in a preview instead of vanishing.
/// </summary>
internal static class LiquidFilters
{
    // Whole numbers without decimals, fractions with as many as they have: 1234 → "1,234", 1234.5 → "1,234.5".
    private const string PlainNumberFormat = "#,0.##########";
    private const double DaysPerMonth = 30.44;
    private const double DaysPerYear = 365.25;

    // Named styles map to the culture's standard patterns; anything else is a .NET format string ("dd MMM yyyy HH:mm").
    // The first entry is the default when no argument is given.
    private static readonly (string Name, string Format)[] DateFormats = [("long", "D"), ("short", "d")];
    private static readonly (string Name, string Format)[] DateTimeFormats = [("long", "f"), ("short", "g"), ("full", "F")];
    private static readonly (string Name, string Format)[] TimeFormats = [("short", "t"), ("long", "T")];

    /// <summary>
    /// Adds, replacing Fluid's own format_date and format_number:
    /// <list type="bullet">
    /// <item><c>format_date</c> ('long' default, 'short', or a .NET format), <c>format_datetime</c> ('long', 'short',
    /// 'full'), <c>format_time</c> ('short', 'long'): ISO-8601 strings, DateTimeOffset, Unix seconds or 'now'.</item>
    /// <item><c>relative_time</c>: "in 3 days", "2 hours ago" from the render's clock.</item>
    /// <item><c>currency</c>: <c>{{ total | currency: 'EUR' }}</c>, laid out by the recipient's culture.</item>
    /// <item><c>format_number</c>: <c>format_number: 2</c> for two decimals, or a .NET format ('P1'); none keeps the value's own decimals.</item>
    /// </list>
    /// Liquid's <c>default</c> and <c>json</c> (and Shopify's <c>money</c>) come with Fluid.
    /// </summary>
    public static void Register(FilterCollection filters)
    {
        filters.AddFilter("format_date", (input, arguments, context) => FormatDate(input, arguments, context, DateFormats));
        filters.AddFilter("format_datetime", (input, arguments, context) => FormatDate(input, arguments, context, DateTimeFormats));
        filters.AddFilter("format_time", (input, arguments, context) => FormatDate(input, arguments, context, TimeFormats));
        filters.AddFilter("relative_time", RelativeTime);
        filters.AddFilter("currency", Currency);
        filters.AddFilter("format_number", FormatNumber);
    }

    private static ValueTask<FluidValue> FormatDate(FluidValue input, FilterArguments arguments, TemplateContext context, (string Name, string Format)[] styles)
    {
        if (!TryGetRecipientTime(input, context, out var time))
        {
            return ValueTask.FromResult(input);
        }

        var requested = arguments.Count > 0 ? arguments.At(0).ToStringValue() : styles[0].Name;
        var format = requested;
        foreach (var (name, pattern) in styles)
        {
            if (string.Equals(name, requested, StringComparison.OrdinalIgnoreCase))
            {
                format = pattern;
                break;
            }
        }

        try
        {
            return ValueTask.FromResult<FluidValue>(StringValue.Create(time.ToString(format, context.CultureInfo)));
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"'{requested}' is not a date format: use short, long or a .NET format such as 'dd MMM yyyy HH:mm'.");
        }
    }

    /// <summary>"in 3 days", "2 hours ago", "just now". English only for now; the wording is not localised yet.</summary>
    private static ValueTask<FluidValue> RelativeTime(FluidValue input, FilterArguments arguments, TemplateContext context)
    {
        if (!TryGetRecipientTime(input, context, out var time))
        {
            return ValueTask.FromResult(input);
        }

        return ValueTask.FromResult<FluidValue>(StringValue.Create(Describe(time - context.Now())));
    }

    internal static string Describe(TimeSpan delta)
    {
        var span = delta.Duration();
        // Each unit is rounded before it is compared with the next one, so 59.6 minutes reads "1 hour", not "60 minutes".
        var (amount, unit) = (Math.Round(span.TotalMinutes), "minute");
        if (amount >= 60)
        {
            (amount, unit) = (Math.Round(span.TotalHours), "hour");
        }

        if (amount >= 24 && unit == "hour")
        {
            (amount, unit) = (Math.Round(span.TotalDays), "day");
        }

        if (amount >= 30 && unit == "day")
        {
            (amount, unit) = (Math.Round(span.TotalDays / DaysPerMonth), "month");
        }

        if (amount >= 12 && unit == "month")
        {
            (amount, unit) = (Math.Round(span.TotalDays / DaysPerYear), "year");
        }

        if (amount < 1)
        {
            return "just now";
        }

        var quantity = amount == 1 ? $"1 {unit}" : $"{amount:0} {unit}s";
        return delta > TimeSpan.Zero ? $"in {quantity}" : $"{quantity} ago";
    }

    /// <summary><c>{{ 12.5 | currency: 'EUR' }}</c>: the amount in the recipient's culture ("€ 12,50" in pt-BR, "€12.50" in en-US).</summary>
    // Fluid's money filter already knows currency symbols and decimal digits (JPY has none) and lays them out by
    // the context's culture; "currency" is the name template authors look for.
    private static ValueTask<FluidValue> Currency(FluidValue input, FilterArguments arguments, TemplateContext context) =>
        input.IsNil() || input.Type == FluidValues.Empty ? ValueTask.FromResult(input) : MoneyFilters.Money(input, arguments, context);

    /// <summary><c>{{ n | format_number: 2 }}</c> (grouping and 2 decimals) or <c>format_number: 'P1'</c> (a .NET format).</summary>
    private static ValueTask<FluidValue> FormatNumber(FluidValue input, FilterArguments arguments, TemplateContext context)
    {
        if (!TryGetNumber(input, out var number))
        {
            return ValueTask.FromResult(input);
        }

        var format = PlainNumberFormat;
        if (arguments.Count > 0)
        {
            var argument = arguments.At(0);
            format = argument.Type == FluidValues.Number
                ? "N" + Math.Clamp((int)argument.ToNumberValue(), 0, 20).ToString(CultureInfo.InvariantCulture)
                : argument.ToStringValue();
            LiquidLimits.CheckNumberFormat(format);
        }

        try
        {
            return ValueTask.FromResult<FluidValue>(StringValue.Create(number.ToString(format, context.CultureInfo)));
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"'{format}' is not a number format: use a number of decimals or a .NET format such as 'N2'.");
        }
    }

    private static bool TryGetNumber(FluidValue input, out decimal number)
    {
        if (input.Type == FluidValues.Number)
        {
            number = input.ToNumberValue();
            return true;
        }

        number = 0;
        return input.Type == FluidValues.String
            && decimal.TryParse(input.ToStringValue(), NumberStyles.Number, CultureInfo.InvariantCulture, out number);
    }

    /// <summary>
    /// Reads a date and expresses it in the recipient's zone. Values with an offset (ISO-8601 with "Z" or "+01:00",
    /// DateTimeOffset, UTC DateTime, Unix seconds) are instants and are converted. Values without one ("2025-03-30",
    /// "2025-03-30T09:00") are already wall-clock times of the recipient and are kept as they are: converting a
    /// birthday from UTC would move it to the previous day west of Greenwich.
    /// </summary>
    internal static bool TryGetRecipientTime(FluidValue input, TemplateContext context, out DateTimeOffset time)
    {
        time = default;
        var zone = context.TimeZone;
        switch (input.Type)
        {
            case FluidValues.DateTime:
                return FromClr(input.ToObjectValue(), zone, out time);
            case FluidValues.Number:
                time = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeSeconds((long)input.ToNumberValue()), zone);
                return true;
            case FluidValues.String:
                var text = input.ToStringValue().Trim();
                if (text.Equals("now", StringComparison.OrdinalIgnoreCase) || text.Equals("today", StringComparison.OrdinalIgnoreCase))
                {
                    time = TimeZoneInfo.ConvertTime(context.Now(), zone);
                    return true;
                }

                if (!DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var parsed))
                {
                    return false;
                }

                if (parsed.Kind == DateTimeKind.Unspecified)
                {
                    time = WallClock(parsed, zone);
                    return true;
                }

                if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant))
                {
                    return false;
                }

                time = TimeZoneInfo.ConvertTime(instant, zone);
                return true;
            default:
                return FromClr(input.ToObjectValue(), zone, out time);
        }
    }

    private static bool FromClr(object? value, TimeZoneInfo zone, out DateTimeOffset time)
    {
        switch (value)
        {
            case DateTimeOffset instant:
                time = TimeZoneInfo.ConvertTime(instant, zone);
                return true;
            case DateTime { Kind: DateTimeKind.Unspecified } wallClock:
                time = WallClock(wallClock, zone);
                return true;
            case DateTime instant:
                time = TimeZoneInfo.ConvertTime(new DateTimeOffset(instant.ToUniversalTime()), zone);
                return true;
            default:
                time = default;
                return false;
        }
    }

    private static DateTimeOffset WallClock(DateTime local, TimeZoneInfo zone) =>
        new(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), zone.GetUtcOffset(local));
}
