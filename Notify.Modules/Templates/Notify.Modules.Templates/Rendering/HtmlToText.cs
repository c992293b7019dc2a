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
        foreach (Match tag in TagRegex().Matches(html))
        {
            if (tag.Index < position)
            {
                // Inside content skipped as hidden (a <p> in a script string).
                continue;
            }

            AppendText(output, html.AsSpan(position, tag.Index - position));
            position = tag.Index + tag.Length;
            if (tag.Groups["comment"].Success)
            {
                continue;
            }

            var name = tag.Groups["name"].Value;
            var closing = tag.Groups["close"].Success;
            if (!closing && HiddenTags.Contains(name))
            {
                // Skip to the matching end tag; a missing one hides the rest, as a browser would.
                var end = html.IndexOf("</" + name, position, StringComparison.OrdinalIgnoreCase);
                position = end < 0 ? html.Length : SkipTag(html, end);
                continue;
            }

            if (name.Equals("a", StringComparison.OrdinalIgnoreCase))
            {
                if (!closing)
                {
                    links.Push((Attribute(tag.Groups["attributes"].Value, "href"), output.Length));
                }
                else if (links.TryPop(out var link))
                {
                    AppendLinkTarget(output, link.Href, link.Start);
                }
            }
            else if (name.Equals("li", StringComparison.OrdinalIgnoreCase) && !closing)
            {
                Break(output, 1);
                output.Append("- ");
            }
            else if (name.Equals("td", StringComparison.OrdinalIgnoreCase) || name.Equals("th", StringComparison.OrdinalIgnoreCase))
            {
                // Cells of one row read as one line, separated like words.
                if (closing)
                {
                    output.Append(' ');
                }
            }
            else if (name.Equals("img", StringComparison.OrdinalIgnoreCase))
            {
                var alt = Attribute(tag.Groups["attributes"].Value, "alt");
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

    // Text between tags: HTML whitespace (including source line breaks) collapses to one space, entities decode.
    private static void AppendText(StringBuilder output, ReadOnlySpan<char> raw)
    {
        if (raw.IsEmpty)
        {
            return;
        }

        var decoded = WebUtility.HtmlDecode(WhitespaceRegex().Replace(raw.ToString(), " ")).Replace('\u00A0', ' ');
        if (decoded.StartsWith(' ') && (output.Length == 0 || output[^1] is ' ' or '\n'))
        {
            decoded = decoded.TrimStart(' ');
        }

        output.Append(decoded);
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

    [GeneratedRegex(@"<!--.*?-->(?<comment>)|<(?<close>/)?(?<name>[a-zA-Z][a-zA-Z0-9]*)(?<attributes>(?:[^>""']|""[^""]*""|'[^']*')*)/?>", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex TagRegex();

    [GeneratedRegex(@"(?<name>[^\s=/>]+)\s*=\s*(?:""(?<dq>[^""]*)""|'(?<sq>[^']*)'|(?<bare>[^\s>]+))", RegexOptions.CultureInvariant)]
    private static partial Regex AttributeRegex();

    [GeneratedRegex(@"[ \t\r\n\f]+", RegexOptions.CultureInvariant)]
    private static partial Regex WhitespaceRegex();

    [GeneratedRegex(@"\n{3,}", RegexOptions.CultureInvariant)]
    private static partial Regex ExtraBlankLinesRegex();
}
