using Fluid;
using Fluid.Ast;

namespace Notify.Modules.Templates.Rendering;

/// <summary>
/// Walks a parsed template once and records what it needs from outside: the top-level variables it reads (not
/// loop variables, not names it assigns itself), the filters it calls, and whether it tries to load other files.
/// </summary>
internal sealed class LiquidTemplateInspector : AstVisitor
{
    private readonly HashSet<string> _assigned = new(StringComparer.Ordinal);
    private readonly List<string> _loopLocals = [];

    public HashSet<string> Variables { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Filters { get; } = new(StringComparer.Ordinal);

    /// <summary>"include" or "render" when the template uses them; they cannot work because no files are exposed.</summary>
    public HashSet<string> FileTags { get; } = new(StringComparer.Ordinal);

    public static LiquidTemplateInspector Inspect(IFluidTemplate template)
    {
        var inspector = new LiquidTemplateInspector();
        inspector.VisitTemplate(template);
        return inspector;
    }

    public override Expression VisitOtherExpression(Expression expression)
    {
        // Ranges are rewritten after parsing (see LiquidLimits); their bounds can be variables: (1..count).
        if (expression is BoundedRangeExpression range)
        {
            Visit(range.From);
            Visit(range.To);
        }

        return expression;
    }

    protected override Expression VisitMemberExpression(MemberExpression memberExpression)
    {
        if (memberExpression.Segments.Count > 0 && memberExpression.Segments[0] is IdentifierSegment root
            && !_assigned.Contains(root.Identifier) && !_loopLocals.Contains(root.Identifier))
        {
            Variables.Add(root.Identifier);
        }

        // Indexers can hold variables of their own, items[selected]; the base visitor does not descend into them.
        foreach (var segment in memberExpression.Segments)
        {
            if (segment is IndexerSegment indexer)
            {
                Visit(indexer.Expression);
            }
        }

        return memberExpression;
    }

    protected override Expression VisitFilterExpression(FilterExpression filterExpression)
    {
        Filters.Add(filterExpression.Name);
        return base.VisitFilterExpression(filterExpression);
    }

    protected override Statement VisitAssignStatement(AssignStatement assignStatement)
    {
        // The value is read before the name exists: {% assign total = total | plus: 1 %} reads the data's total.
        Visit(assignStatement.Value);
        _assigned.Add(assignStatement.Identifier);
        return assignStatement;
    }

    protected override Statement VisitCaptureStatement(CaptureStatement captureStatement)
    {
        var result = base.VisitCaptureStatement(captureStatement);
        _assigned.Add(captureStatement.Identifier);
        return result;
    }

    protected override Statement VisitIncrementStatement(IncrementStatement incrementStatement)
    {
        _assigned.Add(incrementStatement.Identifier);
        return base.VisitIncrementStatement(incrementStatement);
    }

    protected override Statement VisitDecrementStatement(DecrementStatement decrementStatement)
    {
        _assigned.Add(decrementStatement.Identifier);
        return base.VisitDecrementStatement(decrementStatement);
    }

    protected override Statement VisitForStatement(ForStatement forStatement)
    {
        // The collection, limit and offset are read outside the loop; the loop variable and forloop exist only inside.
        Visit(forStatement.Source);
        Visit(forStatement.Limit);
        Visit(forStatement.Offset);
        VisitLoopBody(forStatement.Statements, forStatement.Identifier, "forloop");
        Visit(forStatement.Else);
        return forStatement;
    }

    protected override Statement VisitTableRowStatement(TableRowStatement tableRowStatement)
    {
        Visit(tableRowStatement.Source);
        Visit(tableRowStatement.Limit);
        Visit(tableRowStatement.Offset);
        Visit(tableRowStatement.Cols);
        VisitLoopBody(tableRowStatement.Statements, tableRowStatement.Identifier, "tablerowloop");
        return tableRowStatement;
    }

    protected override Statement VisitIncludeStatement(IncludeStatement includeStatement)
    {
        FileTags.Add("include");
        return base.VisitIncludeStatement(includeStatement);
    }

    protected override Statement VisitRenderStatement(RenderStatement renderStatement)
    {
        FileTags.Add("render");
        return base.VisitRenderStatement(renderStatement);
    }

    private void VisitLoopBody(IReadOnlyList<Statement> statements, string identifier, string loopObject)
    {
        _loopLocals.Add(identifier);
        _loopLocals.Add(loopObject);
        foreach (var statement in statements)
        {
            Visit(statement);
        }

        _loopLocals.RemoveRange(_loopLocals.Count - 2, 2);
    }
}
