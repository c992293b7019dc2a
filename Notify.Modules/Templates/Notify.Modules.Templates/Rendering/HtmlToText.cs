using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Notify.Modules.Templates.Rendering;

/// <summary>
/// Derives the text part of an email from its HTML: paragraphs and headings become blank-line separated blocks,
/// line breaks and list items new lines, links "text (url)", everything else plain text with entities decoded and
/// HTML's insignificant whitespace collapsed. Meant for the HTML templates produce, not for arbitrary web pages.
/// </summary>
internal static partial class HtmlToText
{
    private static readonly HashSet<string> ParagraphTags = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "ul", "ol", "pre", "hr",
    };

    private static readonly HashSet<string> LineTags = new(StringComparer.OrdinalIgnoreCase)
    {
        "br", "div", "tr", "li", "section", "article", "header", "footer",
    };

    // Elements whose content is never meant to be read.
    private static readonly HashSet<string> HiddenTags = new(StringComparer.OrdinalIgnoreCase)
    {
        "head", "style", "script", "title", "template",
    };

    public static string Convert(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        var output = new StringBuilder(html.Length);
        var links = new Stack<(string? Href, int Start)>();
        var position = 0;
        while (NextTag(html, position) is { } tag)
        {
            AppendText(output, html.AsSpan(position, tag.Start - position));
            position = tag.End;
            if (tag.Name is null)
            {
                continue;
            }

            var name = tag.Name;
            if (!tag.Closing && HiddenTags.Contains(name))
            {
                // Skip to the matching end tag; a missing one hides the rest, as a browser would.
                var end = html.IndexOf("</" + name, position, StringComparison.OrdinalIgnoreCase);
                position = end < 0 ? html.Length : SkipTag(html, end);
                continue;
            }

            if (name.Equals("a", StringComparison.OrdinalIgnoreCase))
            {
                if (!tag.Closing)
                {
                    links.Push((Attribute(tag.Attributes, "href"), output.Length));
                }
                else if (links.TryPop(out var link))
                {
                    AppendLinkTarget(output, link.Href, link.Start);
                }
            }
            else if (name.Equals("li", StringComparison.OrdinalIgnoreCase) && !tag.Closing)
            {
                Break(output, 1);
                output.Append("- ");
            }
            else if (name.Equals("td", StringComparison.OrdinalIgnoreCase) || name.Equals("th", StringComparison.OrdinalIgnoreCase))
            {
                // Cells of one row read as one line, separated like words.
                if (tag.Closing)
                {
                    output.Append(' ');
                }
            }
            else if (name.Equals("img", StringComparison.OrdinalIgnoreCase))
            {
                var alt = Attribute(tag.Attributes, "alt");
                if (!string.IsNullOrWhiteSpace(alt))
                {
                    AppendText(output, alt);
                }
            }
            else if (ParagraphTags.Contains(name))
            {
                Break(output, 2);
            }
            else if (LineTags.Contains(name))
            {
                Break(output, 1);
            }
        }

        AppendText(output, html.AsSpan(position));
        return Tidy(output.ToString());
    }

    /// <summary>A tag from <c>Start</c> up to (not including) <c>End</c>; a comment has no name.</summary>
    private readonly record struct Tag(int Start, int End, string? Name, bool Closing, string Attributes);

    // A hand-written scan rather than a regex: this runs for every email without a text part, and a regex with
    // quoted-attribute alternation was most of the conversion's cost.
    private static Tag? NextTag(string html, int from)
    {
        for (var start = html.IndexOf('<', from); start >= 0; start = html.IndexOf('<', start + 1))
        {
            if (html.AsSpan(start).StartsWith("<!--", StringComparison.Ordinal))
            {
                var close = html.IndexOf("-->", start + 4, StringComparison.Ordinal);
                return new Tag(start, close < 0 ? html.Length : close + 3, null, false, "");
            }

            var at = start + 1;
            var closing = at < html.Length && html[at] == '/';
            if (closing)
            {
                at++;
            }

            var nameStart = at;
            while (at < html.Length && char.IsAsciiLetterOrDigit(html[at]))
            {
                at++;
            }

            // "<" not followed by a tag name ("a < b", "<3") is text.
            if (at == nameStart || !char.IsAsciiLetter(html[nameStart]))
            {
                continue;
            }

            var attributesStart = at;
            var quote = '\0';
            // The tag ends at the first ">" outside a quoted attribute value (title="a > b").
            for (; at < html.Length; at++)
            {
                var c = html[at];
                if (quote != '\0')
                {
                    quote = c == quote ? '\0' : quote;
                }
                else if (c is '"' or '\'')
                {
                    quote = c;
                }
                else if (c == '>')
                {
                    break;
                }
            }

            return new Tag(start, Math.Min(at + 1, html.Length), html[nameStart..attributesStart], closing, html[attributesStart..at]);
        }

        return null;
    }

    // Text between tags: HTML whitespace (including source line breaks) collapses to one space, entities decode.
    private static void AppendText(StringBuilder output, ReadOnlySpan<char> raw)
    {
        if (raw.IsEmpty)
        {
            return;
        }

        var collapsed = CollapseWhitespace(raw, trimStart: output.Length == 0 || output[^1] is ' ' or '\n');
        if (collapsed.Contains('&', StringComparison.Ordinal))
        {
            collapsed = WebUtility.HtmlDecode(collapsed);
        }

        output.Append(collapsed.Replace('\u00A0', ' '));
    }

    private static string CollapseWhitespace(ReadOnlySpan<char> raw, bool trimStart)
    {
        var result = new StringBuilder(raw.Length);
        var pendingSpace = false;
        foreach (var c in raw)
        {
            if (c is ' ' or '\t' or '\r' or '\n' or '\f')
            {
                pendingSpace = true;
                continue;
            }

            if (pendingSpace && (result.Length > 0 || !trimStart))
            {
                result.Append(' ');
            }

            pendingSpace = false;
            result.Append(c);
        }

        if (pendingSpace && (result.Length > 0 || !trimStart))
        {
            result.Append(' ');
        }

        return result.ToString();
    }

    private static void AppendLinkTarget(StringBuilder output, string? href, int textStart)
    {
        if (string.IsNullOrWhiteSpace(href) || href.StartsWith('#')
            || href.StartsWith("javascript:", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var url = href.Trim();
        var shown = url.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase) ? url["mailto:".Length..] : url;
        var text = output.ToString(textStart, output.Length - textStart).Trim();
        // A link whose text already is its address ("https://example.com") would otherwise print it twice.
        if (text.Length == 0)
        {
            output.Append(shown);
        }
        else if (!string.Equals(text, shown, StringComparison.OrdinalIgnoreCase) && !string.Equals(text, url, StringComparison.OrdinalIgnoreCase))
        {
            TrimEndSpaces(output);
            output.Append(" (").Append(url).Append(')');
        }
    }

    // Ensures the output ends with at least `newlines` line breaks (none at the very start).
    private static void Break(StringBuilder output, int newlines)
    {
        TrimEndSpaces(output);
        if (output.Length == 0)
        {
            return;
        }

        var existing = 0;
        for (var i = output.Length - 1; i >= 0 && output[i] == '\n'; i--)
        {
            existing++;
        }

        output.Append('\n', Math.Max(0, newlines - existing));
    }

    private static void TrimEndSpaces(StringBuilder output)
    {
        while (output.Length > 0 && output[^1] == ' ')
        {
            output.Length--;
        }
    }

    private static string Tidy(string text)
    {
        var lines = text.Split('\n').Select(line => line.Trim());
        var joined = string.Join('\n', lines);
        return ExtraBlankLinesRegex().Replace(joined, "\n\n").Trim();
    }

    private static int SkipTag(string html, int start)
    {
        var close = html.IndexOf('>', start);
        return close < 0 ? html.Length : close + 1;
    }

    private static string? Attribute(string attributes, string name)
    {
        foreach (Match match in AttributeRegex().Matches(attributes))
        {
            if (match.Groups["name"].Value.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                var value = match.Groups["dq"].Success ? match.Groups["dq"].Value
                    : match.Groups["sq"].Success ? match.Groups["sq"].Value
                    : match.Groups["bare"].Value;
                return WebUtility.HtmlDecode(value);
            }
        }

        return null;
    }

    [GeneratedRegex(@"(?<name>[^\s=/>]+)\s*=\s*(?:""(?<dq>[^""]*)""|'(?<sq>[^']*)'|(?<bare>[^\s>]+))", RegexOptions.CultureInvariant)]
    private static partial Regex AttributeRegex();

    [GeneratedRegex(@"\n{3,}", RegexOptions.CultureInvariant)]
    private static partial Regex ExtraBlankLinesRegex();
}
