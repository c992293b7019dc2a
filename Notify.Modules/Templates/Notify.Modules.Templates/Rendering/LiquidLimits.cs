using System.Globalization;
using System.Text.RegularExpressions;
using Fluid;
using Fluid.Values;

namespace Notify.Modules.Templates.Rendering;

/// <summary>
/// Bounds on what one tenant template may cost. A template that hits one fails with a clear render error; none of
/// them is close to what a real notification needs, and each closes a way to exhaust the CPU or memory of the
/// process for every other tenant.
/// </summary>
internal static partial class LiquidLimits
{
    /// <summary>Statements one field may execute; a loop iteration costs about two.</summary>
    public const int MaxSteps = 100_000;

    /// <summary>Nesting depth; include and render are unavailable, so only deeply nested blocks count.</summary>
    public const int MaxRecursion = 20;

    /// <summary>Characters one field may render, and the longest string a filter or capture may produce.</summary>
    public const int MaxLength = 1_000_000;

    /// <summary>Items an array built by a filter (split, concat) may have.</summary>
    public const int MaxArrayLength = 100_000;

    /// <summary>Numbers a range such as <c>(1..n)</c> may have.</summary>
    public const int MaxRangeLength = 10_000;

    /// <summary>Sets the step and depth limits and guards the filters that could grow values without bound.</summary>
    public static void Apply(TemplateOptions options)
    {
        options.MaxSteps = MaxSteps;
        options.MaxRecursion = MaxRecursion;

        // .NET composite formats allow a width of a million per placeholder ("{0,999999}"), so one short format
        // string renders megabytes, and a built-up one gigabytes. format_number and format_date cover the real uses.
        options.Filters.Remove("format_string");

        // These multiply rather than add: replace by a long string, join with a long separator, strftime widths.
        Guard(options, "replace", (input, arguments) => CheckReplace(input.ToStringValue(), arguments.At(0).ToStringValue(), arguments.At(1).ToStringValue()));
        Guard(options, "join", (input, arguments) => CheckJoin(input, arguments.Count > 0 ? arguments.At(0).ToStringValue() : " "));
        Guard(options, "date", (_, arguments) => CheckDateFormat(arguments.Count > 0 ? arguments.At(0).ToStringValue() : ""));

        // Anything else adds at most a constant factor; checking every result stops repeated doubling
        // ({% assign s = s | append: s %}) at the limit instead of at gigabytes.
        foreach (var (name, filter) in options.Filters.ToList())
        {
            options.Filters.AddFilter(name, CheckResult(filter));
        }

        options.Captured = (_, value, _) => ValueTask.FromResult(Checked(value));
    }

    /// <summary>Rewrites the ranges of a freshly parsed template; see <see cref="BoundedRangeExpression"/>.</summary>
    public static IFluidTemplate BoundRanges(IFluidTemplate template) => new RangeBounder().VisitTemplate(template);

    /// <summary>Throws when a standard .NET numeric format asks for more digits than a decimal can have ("N999999999").</summary>
    public static void CheckNumberFormat(string format)
    {
        var match = StandardNumberFormatRegex().Match(format);
        if (match.Success && (match.Groups["precision"].Value.Length > 2 || int.Parse(match.Groups["precision"].Value, CultureInfo.InvariantCulture) > 28))
        {
            throw new InvalidOperationException($"The number format '{format}' asks for more than 28 digits.");
        }
    }

    private static void Guard(TemplateOptions options, string name, Action<FluidValue, FilterArguments> check)
    {
        if (options.Filters.TryGetValue(name, out var filter))
        {
            options.Filters.AddFilter(name, (input, arguments, context) =>
            {
                check(input, arguments);
                return filter(input, arguments, context);
            });
        }
    }

    private static FilterDelegate CheckResult(FilterDelegate filter) => (input, arguments, context) =>
    {
        var result = filter(input, arguments, context);
        return result.IsCompletedSuccessfully ? ValueTask.FromResult(Checked(result.Result)) : Awaited(result);

        static async ValueTask<FluidValue> Awaited(ValueTask<FluidValue> pending) => Checked(await pending);
    };

    private static FluidValue Checked(FluidValue value) => value switch
    {
        StringValue when value.ToStringValue().Length > MaxLength => throw TooLong(),
        ArrayValue array when array.Values.Count > MaxArrayLength =>
            throw new InvalidOperationException($"An array in the template grew longer than {MaxArrayLength} items."),
        _ => value,
    };

    private static void CheckReplace(string input, string search, string replacement)
    {
        if (search.Length == 0 || replacement.Length <= search.Length)
        {
            return;
        }

        long occurrences = 0;
        for (var at = input.IndexOf(search, StringComparison.Ordinal); at >= 0; at = input.IndexOf(search, at + search.Length, StringComparison.Ordinal))
        {
            occurrences++;
        }

        if (input.Length + (occurrences * (replacement.Length - search.Length)) > MaxLength)
        {
            throw TooLong();
        }
    }

    private static void CheckJoin(FluidValue input, string separator)
    {
        if (input is not ArrayValue array)
        {
            return;
        }

        long length = (long)Math.Max(0, array.Values.Count - 1) * separator.Length;
        foreach (var item in array.Values)
        {
            length += item.ToStringValue().Length;
            if (length > MaxLength)
            {
                throw TooLong();
            }
        }
    }

    private static void CheckDateFormat(string format)
    {
        if (StrftimeWidthRegex().IsMatch(format))
        {
            throw new InvalidOperationException($"The date format '{format}' asks for a width over 99 characters.");
        }
    }

    private static InvalidOperationException TooLong() => new($"A value in the template grew longer than {MaxLength} characters.");

    [GeneratedRegex(@"^\s*[A-Za-z](?<precision>\d+)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex StandardNumberFormatRegex();

    [GeneratedRegex(@"%[-_0^#:]*\d{3,}", RegexOptions.CultureInvariant)]
    private static partial Regex StrftimeWidthRegex();
}
