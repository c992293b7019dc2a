using System.Collections.Frozen;

namespace Notify.Modules.Templates.Rendering;

/// <summary>
/// A quick scan of a template's tags before Fluid parses it. Fluid's parser and evaluator recurse once per nested
/// block, filter and indexer, and a stack overflow cannot be caught: five thousand nested ifs, or a few hundred
/// nested indexers, would take down the process that validates a draft. The limits here are far above what a
/// notification needs and far below what overflows a thread-pool thread's stack.
/// </summary>
internal static class LiquidStructure
{
    public const int MaxSourceLength = 256 * 1024;
    public const int MaxBlockDepth = 25;
    public const int MaxFiltersPerTag = 25;
    public const int MaxOperatorsPerTag = 25;
    public const int MaxIndexerDepth = 5;

    private static readonly FrozenSet<string> Blocks =
        new[] { "if", "unless", "for", "case", "capture", "tablerow", "ifchanged" }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> WordOperators =
        new[] { "and", "or", "contains" }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The first problem as a 0-based index into the source and a message, or null when the template may be parsed.</summary>
    public static (int Index, string Message)? Check(string source)
    {
        if (source.Length > MaxSourceLength)
        {
            return (MaxSourceLength, $"The template is longer than {MaxSourceLength} characters.");
        }

        var depth = 0;
        var at = 0;
        while (NextTagStart(source, at) is var open and >= 0)
        {
            var output = source[open + 1] == '{';
            var contentStart = open + 2;
            var name = output ? "" : ReadName(source, contentStart);
            // Unclosed tags are reported here rather than left to Fluid: a quote this scan reads differently from
            // Fluid must not let nesting after it go unchecked.
            var close = FindTagEnd(source, contentStart, output ? "}}" : "%}", name);
            if (close < 0)
            {
                return (open, output ? "This output is not closed with '}}'." : "This tag is not closed with '%}'.");
            }

            at = close + 2;
            var content = source.AsSpan(contentStart, close - contentStart).Trim('-').Trim();
            if (name is "raw" or "comment")
            {
                // The body of these is not Liquid; skip to its end tag, which Fluid requires anyway.
                var end = FindEndTag(source, at, "end" + name);
                if (end < 0)
                {
                    return (open, $"'{name}' is not closed with 'end{name}'.");
                }

                at = end;
                continue;
            }

            var problem = name == "liquid"
                ? CheckLiquidTag(content[name.Length..], ref depth)
                : CheckStatement(output ? "" : name, output ? content : content[name.Length..], ref depth);
            if (problem is not null)
            {
                return (open, problem);
            }
        }

        return null;
    }

    // {% liquid %} holds one statement per line, with the same nesting as tags.
    private static string? CheckLiquidTag(ReadOnlySpan<char> body, ref int depth)
    {
        foreach (var range in body.Split('\n'))
        {
            var line = body[range].Trim();
            var name = ReadName(line);
            if (name is not ("" or "#"))
            {
                var problem = CheckStatement(name, line[name.Length..], ref depth);
                if (problem is not null)
                {
                    return problem;
                }
            }
        }

        return null;
    }

    private static string? CheckStatement(string name, ReadOnlySpan<char> expression, ref int depth)
    {
        if (Blocks.Contains(name) && ++depth > MaxBlockDepth)
        {
            return $"Blocks are nested more than {MaxBlockDepth} levels deep.";
        }

        if (name.StartsWith("end", StringComparison.Ordinal) && Blocks.Contains(name[3..]))
        {
            depth = Math.Max(0, depth - 1);
        }

        return name == "#" ? null : CheckExpression(expression);
    }

    private static string? CheckExpression(ReadOnlySpan<char> expression)
    {
        int filters = 0, operators = 0, indexers = 0;
        for (var i = 0; i < expression.Length; i++)
        {
            var c = expression[i];
            if (c is '\'' or '"')
            {
                var closing = expression[(i + 1)..].IndexOf(c);
                i = closing < 0 ? expression.Length : i + 1 + closing;
            }
            else if (c == '|')
            {
                filters++;
            }
            else if (c == '[')
            {
                indexers++;
                if (indexers > MaxIndexerDepth)
                {
                    return $"Indexers are nested more than {MaxIndexerDepth} levels deep.";
                }
            }
            else if (c == ']')
            {
                indexers = Math.Max(0, indexers - 1);
            }
            else if (c is '=' or '<' or '>' or '!')
            {
                operators++;
                // "==", "<=", "<>" are one operator.
                if (i + 1 < expression.Length && expression[i + 1] is '=' or '>')
                {
                    i++;
                }
            }
            else if (char.IsAsciiLetter(c) && (i == 0 || !IsNamePart(expression[i - 1])))
            {
                var word = expression[i..];
                var length = 0;
                while (length < word.Length && IsNamePart(word[length]))
                {
                    length++;
                }

                if (WordOperators.Contains(word[..length].ToString()))
                {
                    operators++;
                }

                i += length - 1;
            }
        }

        return filters > MaxFiltersPerTag ? $"One tag applies more than {MaxFiltersPerTag} filters."
            : operators > MaxOperatorsPerTag ? $"One condition has more than {MaxOperatorsPerTag} operators."
            : null;
    }

    private static int NextTagStart(string source, int from)
    {
        for (var at = source.IndexOf('{', from); at >= 0 && at + 1 < source.Length; at = source.IndexOf('{', at + 1))
        {
            if (source[at + 1] is '{' or '%')
            {
                return at;
            }
        }

        return -1;
    }

    // The closing delimiter, skipping string literals so that {{ "}}" }} is one tag. An inline comment ({% # ... %})
    // has no literals; in {% liquid %} a literal ends with its line and "#" comments out the rest of a line.
    private static int FindTagEnd(string source, int from, string delimiter, string name)
    {
        var lines = name == "liquid";
        for (var at = from; at < source.Length - 1; at++)
        {
            var c = source[at];
            if (c == delimiter[0] && source[at + 1] == delimiter[1])
            {
                return at;
            }

            if (name == "#")
            {
                continue;
            }

            if (lines && c == '#')
            {
                var endOfLine = source.IndexOf('\n', at);
                var endOfTag = source.IndexOf(delimiter, at, StringComparison.Ordinal);
                if (endOfTag >= 0 && (endOfLine < 0 || endOfTag < endOfLine))
                {
                    return endOfTag;
                }

                if (endOfLine < 0)
                {
                    return -1;
                }

                at = endOfLine;
            }
            else if (c is '\'' or '"')
            {
                var closing = source.IndexOf(c, at + 1);
                var endOfLine = lines ? source.IndexOf('\n', at + 1) : -1;
                if (closing < 0 || (endOfLine >= 0 && endOfLine < closing))
                {
                    return -1;
                }

                at = closing;
            }
        }

        return -1;
    }

    // The index just after "{% endraw %}" (with any whitespace control), or -1.
    private static int FindEndTag(string source, int from, string endName)
    {
        for (var open = source.IndexOf("{%", from, StringComparison.Ordinal); open >= 0; open = source.IndexOf("{%", open + 2, StringComparison.Ordinal))
        {
            if (ReadName(source, open + 2) == endName)
            {
                var close = source.IndexOf("%}", open + 2, StringComparison.Ordinal);
                return close < 0 ? -1 : close + 2;
            }
        }

        return -1;
    }

    private static string ReadName(string source, int from) => ReadName(source.AsSpan(from));

    // A tag's name: after optional "-" and spaces, "#" or an identifier.
    private static string ReadName(ReadOnlySpan<char> content)
    {
        var start = 0;
        while (start < content.Length && (content[start] == '-' || char.IsWhiteSpace(content[start])))
        {
            start++;
        }

        if (start < content.Length && content[start] == '#')
        {
            return "#";
        }

        var end = start;
        while (end < content.Length && IsNamePart(content[end]))
        {
            end++;
        }

        return content[start..end].ToString();
    }

    private static bool IsNamePart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
}
