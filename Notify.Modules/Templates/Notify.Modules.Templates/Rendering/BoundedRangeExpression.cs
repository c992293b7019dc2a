using System.Globalization;
using Fluid;
using Fluid.Ast;
using Fluid.Values;

namespace Notify.Modules.Templates.Rendering;

/// <summary>
/// A Liquid range, <c>(1..n)</c>, that refuses to be longer than <see cref="LiquidLimits.MaxRangeLength"/>.
/// Fluid builds a range as an array before the loop over it starts, before MaxSteps counts anything, so
/// <c>(1..1000000000)</c> would allocate gigabytes and take the process down.
/// </summary>
internal sealed class BoundedRangeExpression(Expression from, Expression to) : Expression
{
    public Expression From { get; } = from;

    public Expression To { get; } = to;

    public override async ValueTask<FluidValue> EvaluateAsync(TemplateContext context)
    {
        // Same conversion as Fluid's own RangeExpression, so templates behave the same.
        var start = Convert.ToInt32((await From.EvaluateAsync(context)).ToNumberValue(), CultureInfo.InvariantCulture);
        var end = Convert.ToInt32((await To.EvaluateAsync(context)).ToNumberValue(), CultureInfo.InvariantCulture);
        var length = Math.Max(0L, (long)end - start + 1);
        if (length > LiquidLimits.MaxRangeLength)
        {
            throw new InvalidOperationException($"The range ({start}..{end}) has more than {LiquidLimits.MaxRangeLength} numbers.");
        }

        var values = new FluidValue[length];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = NumberValue.Create(start + i);
        }

        return new ArrayValue(values);
    }
}

/// <summary>Replaces every range of a parsed template with a <see cref="BoundedRangeExpression"/>.</summary>
internal sealed class RangeBounder : AstRewriter
{
    protected override Expression VisitRangeExpression(RangeExpression rangeExpression) =>
        new BoundedRangeExpression(Visit(rangeExpression.From), Visit(rangeExpression.To));
}
