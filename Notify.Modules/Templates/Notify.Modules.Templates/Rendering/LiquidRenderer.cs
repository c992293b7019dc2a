using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Unicode;
using Fluid;
using Fluid.Filters;
using Microsoft.Extensions.FileProviders;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Templates.Rendering;

/// <summary>
/// Parses, checks and renders tenant-authored Liquid. One instance serves the whole process: the options are
/// built once and parsed templates are shared, keyed by a hash of their source so an edited template can never
/// be served from a stale entry.
/// </summary>
/// <remarks>
/// What a template can reach is deliberately small. Data is plain dictionaries, lists and primitives, and the
/// default member access strategy exposes no .NET members, so <c>{{ user.GetType }}</c> renders nothing. No files
/// are exposed, so include and render fail. Work and memory are bounded by <see cref="LiquidLimits"/>, and
/// nesting that would overflow the stack of Fluid's parser is refused by <see cref="LiquidStructure"/> before parsing.
/// Encoding: only the email HTML is HTML-encoded. Every other field is rendered as written, including the JSON
/// fields (push data, webhook body): authors put string values through the <c>json</c> filter, which quotes and
/// escapes them (<c>{"name": {{ user.name | json }}}</c>), and the result must parse as JSON or the render fails.
/// </remarks>
internal sealed partial class LiquidRenderer
{
    // Every version of every template of every tenant that renders here; clearing on overflow is crude but keeps
    // memory bounded, and a cleared entry costs one parse.
    private const int MaxCachedTemplates = 20_000;
    private const int MaxCachedEnvironments = 1_000;

    // Accented letters stay as they are; only what HTML treats specially (< > & " ' and such) is escaped.
    private static readonly HtmlEncoder HtmlEncoder = HtmlEncoder.Create(UnicodeRanges.All);

    // Hashing a 2 KB body costs more than rendering a short field. A template version held in memory renders many
    // times with the same string instances, so each instance's hash is remembered; strings are immutable, and an
    // entry goes when its string does.
    private static readonly ConditionalWeakTable<string, string> SourceHashes = new();

    private static readonly ConcurrentDictionary<string, CultureInfo> Cultures = new(StringComparer.OrdinalIgnoreCase);
    private static readonly ConcurrentDictionary<string, TimeZoneInfo> TimeZones = new(StringComparer.OrdinalIgnoreCase);

    private readonly FluidParser _parser = new(new FluidParserOptions { AllowLiquidTag = true });
    private readonly TemplateOptions _options = CreateOptions();
    private readonly ConcurrentDictionary<string, IFluidTemplate> _templates = new(StringComparer.Ordinal);

    /// <summary>How many parsed templates are cached; tests use it to see that equal sources share one entry.</summary>
    internal int CachedTemplateCount => _templates.Count;

    /// <summary>
    /// Parses every Liquid field and reports every problem found without data: syntax errors, filters that do not
    /// exist and include/render tags. Empty when the contents are fine.
    /// </summary>
    public IReadOnlyList<TemplateSyntaxError> Validate(ChannelContents contents)
    {
        ArgumentNullException.ThrowIfNull(contents);
        var errors = new List<TemplateSyntaxError>();
        foreach (var field in TemplateFields.Of(contents))
        {
            if (!TryGetTemplate(field.Source, out var template, out var parseError))
            {
                var (line, column, message) = ParseErrorPosition(parseError);
                errors.Add(new(field.Channel, field.Field, line, column, message));
                continue;
            }

            var inspector = LiquidTemplateInspector.Inspect(template);
            foreach (var tag in inspector.FileTags.Order(StringComparer.Ordinal))
            {
                var (line, column) = Locate(field.Source, FileTagPattern(tag));
                errors.Add(new(field.Channel, field.Field, line, column,
                    $"The '{tag}' tag is not available: templates cannot load other templates or files."));
            }

            foreach (var filter in inspector.Filters.Order(StringComparer.Ordinal))
            {
                if (!_options.Filters.TryGetValue(filter, out _))
                {
                    var (line, column) = Locate(field.Source, FilterPattern(filter));
                    errors.Add(new(field.Channel, field.Field, line, column, $"Unknown filter '{filter}'."));
                }
            }
        }

        return errors;
    }

    /// <summary>
    /// The top-level names the contents read from the data ("user" for <c>{{ user.name }}</c>), without loop
    /// variables and names the template assigns itself. Fields that do not parse are skipped.
    /// </summary>
    public IReadOnlySet<string> ReferencedVariables(ChannelContents contents)
    {
        ArgumentNullException.ThrowIfNull(contents);
        var variables = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in TemplateFields.Of(contents))
        {
            if (TryGetTemplate(field.Source, out var template, out _))
            {
                variables.UnionWith(LiquidTemplateInspector.Inspect(template).Variables);
            }
        }

        return variables;
    }

    /// <summary>
    /// Renders one channel. Email HTML is the content only; <see cref="EmailLayoutRenderer"/> wraps it.
    /// Throws <see cref="InvalidOperationException"/> when the contents have nothing for the channel and
    /// <see cref="LiquidRenderException"/> when the template cannot be rendered with this data.
    /// </summary>
    public RenderedMessage Render(string channel, ChannelContents contents, RenderContext context)
    {
        ArgumentNullException.ThrowIfNull(contents);
        ArgumentNullException.ThrowIfNull(context);
        switch (channel)
        {
            case Channels.Email:
                var email = RenderEmail(contents.Email ?? throw NoContent(channel), context);
                return new(channel, context.Locale, Subject: email.Subject, Html: email.Html, Text: email.Text);
            case Channels.Sms:
                var sms = contents.Sms ?? throw NoContent(channel);
                return new(channel, context.Locale, Text: RenderText(channel, TemplateFields.Text, sms.Text, context));
            case Channels.Push:
                var push = contents.Push ?? throw NoContent(channel);
                return new(channel, context.Locale,
                    Title: RenderText(channel, TemplateFields.Title, push.Title, context),
                    Body: RenderText(channel, TemplateFields.Body, push.Body, context),
                    Data: push.Data is null ? null : RenderJson(channel, TemplateFields.Data, push.Data, context, requireObject: true));
            case Channels.InApp:
                var inApp = contents.InApp ?? throw NoContent(channel);
                return new(channel, context.Locale,
                    Title: RenderText(channel, TemplateFields.Title, inApp.Title, context),
                    Body: RenderText(channel, TemplateFields.Body, inApp.Body, context),
                    ActionUrl: inApp.ActionUrl is null ? null : RenderText(channel, TemplateFields.ActionUrl, inApp.ActionUrl, context).Trim());
            case Channels.Webhook:
                var webhook = contents.Webhook ?? throw NoContent(channel);
                return new(channel, context.Locale, Body: RenderJson(channel, TemplateFields.Body, webhook.Body, context, requireObject: false));
            default:
                throw new ArgumentException($"Unknown channel '{channel}'.", nameof(channel));
        }
    }

    /// <summary>Renders an email's parts, including the preheader that <see cref="RenderedMessage"/> has no room for.</summary>
    public RenderedEmail RenderEmail(EmailContent email, RenderContext context)
    {
        ArgumentNullException.ThrowIfNull(email);
        ArgumentNullException.ThrowIfNull(context);
        const string channel = Channels.Email;
        // A subject is one header line; line breaks from data would be folded unpredictably by mail clients.
        var subject = OneLine(RenderText(channel, TemplateFields.Subject, email.Subject, context));
        var html = RenderField(channel, TemplateFields.Html, email.Html, context, HtmlEncoder);
        var text = email.Text is null ? HtmlToText.Convert(html) : RenderText(channel, TemplateFields.Text, email.Text, context);
        var preheader = email.Preheader is null ? null : OneLine(RenderText(channel, TemplateFields.Preheader, email.Preheader, context));
        return new(subject, html, text, string.IsNullOrEmpty(preheader) ? null : preheader);
    }

    private static TemplateOptions CreateOptions()
    {
        var options = new TemplateOptions
        {
            // The defaults already are the safe ones; set explicitly so nobody "fixes" them. Never use
            // UnsafeMemberAccessStrategy: it would let a template walk from any value to its type and assembly.
            MemberAccessStrategy = new DefaultMemberAccessStrategy(),
            FileProvider = new NullFileProvider(),
            CultureInfo = CultureInfo.InvariantCulture,
            TimeZone = TimeZoneInfo.Utc,
            // The json filter keeps letters such as "ã" readable instead of "\u00E3"; quotes and < > & stay escaped.
            JsonSerializerOptions = new JsonSerializerOptions { Encoder = JavaScriptEncoder.Create(UnicodeRanges.All) },
        };
        options.Filters.WithMoneyFilters();
        LiquidFilters.Register(options.Filters);
        LiquidLimits.Apply(options);
        // A caller may hand over its own read-only dictionary; Fluid only sees IDictionary as a Liquid hash.
        options.ValueConverters.Add(value => value is IReadOnlyDictionary<string, object?> map and not IDictionary<string, object?>
            ? map.ToDictionary(StringComparer.Ordinal)
            : null);
        return options;
    }

    private string RenderText(string channel, string field, string source, RenderContext context) =>
        RenderField(channel, field, source, context, NullEncoder.Default);

    private string RenderJson(string channel, string field, string source, RenderContext context, bool requireObject)
    {
        var json = RenderField(channel, field, source, context, NullEncoder.Default);
        try
        {
            using var document = JsonDocument.Parse(json);
            if (requireObject && document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new LiquidRenderException(channel, field, "must render to a JSON object.");
            }
        }
        catch (JsonException exception)
        {
            throw new LiquidRenderException(channel, field,
                $"did not render to valid JSON ({exception.Message}). Put string values through the json filter: {{{{ name | json }}}}.",
                exception);
        }

        return json;
    }

    private string RenderField(string channel, string field, string source, RenderContext context, TextEncoder encoder)
    {
        if (!TryGetTemplate(source, out var template, out var parseError))
        {
            var (line, column, message) = ParseErrorPosition(parseError);
            throw new LiquidRenderException(channel, field, $"syntax error at line {line}, column {column}: {message}");
        }

        var now = context.Now;
        var templateContext = new TemplateContext(context.Data, _options, allowModelMembers: false)
        {
            CultureInfo = ResolveCulture(context.Locale),
            TimeZone = ResolveTimeZone(context.TimeZone),
            Now = () => now,
        };
        using var writer = new BoundedStringWriter(LiquidLimits.MaxLength, source.Length + 256);
        try
        {
            // Every filter and accessor here is synchronous, so this completes at once; the sync path of Fluid's own
            // Render(context, encoder, writer) does the same and is marked obsolete in 2.41 without a replacement.
            var rendering = template.RenderAsync(writer, encoder, templateContext);
            if (rendering.IsCompletedSuccessfully)
            {
                rendering.GetAwaiter().GetResult();
            }
            else
            {
                rendering.AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception exception) when (IsTemplateFault(exception))
        {
            throw new LiquidRenderException(channel, field, Describe(exception), exception);
        }

        return writer.ToString();
    }

    // What a template and its data can cause; anything else is a bug here and should surface as one.
    private static bool IsTemplateFault(Exception exception) =>
        exception is FluidException or InvalidOperationException or IOException or FormatException
            or ArgumentException or OverflowException or DivideByZeroException;

    private static string Describe(Exception exception) => exception switch
    {
        IOException => "templates cannot load other templates or files (include, render).",
        // Fluid reports MaxSteps with its recursion message, which misleads authors about the cause.
        InvalidOperationException when exception.Message.Contains("maximum level of recursion", StringComparison.Ordinal) =>
            $"the template did too much work (more than {LiquidLimits.MaxSteps} steps or {LiquidLimits.MaxRecursion} nested levels); look for very long or nested loops.",
        _ => exception.Message,
    };

    private bool TryGetTemplate(string source, out IFluidTemplate template, out string error)
    {
        var key = SourceHashes.GetValue(source, Hash);
        if (_templates.TryGetValue(key, out template!))
        {
            error = "";
            return true;
        }

        // Checked before Fluid sees the source: what this rejects would overflow the stack in Fluid's parser.
        if (LiquidStructure.Check(source) is { } problem)
        {
            var (line, column) = LineAndColumn(source, problem.Index);
            template = null!;
            error = $"{problem.Message} at ({line}:{column})";
            return false;
        }

        if (!_parser.TryParse(source, out template, out error))
        {
            return false;
        }

        template = LiquidLimits.BoundRanges(template);

        if (_templates.Count >= MaxCachedTemplates)
        {
            _templates.Clear();
        }

        template = _templates.GetOrAdd(key, template);
        return true;
    }

    private static string Hash(string source)
    {
        var maxBytes = Encoding.UTF8.GetMaxByteCount(source.Length);
        var rented = ArrayPool<byte>.Shared.Rent(maxBytes);
        try
        {
            var length = Encoding.UTF8.GetBytes(source, rented);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(rented.AsSpan(0, length), hash);
            return Convert.ToHexString(hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Fluid reports "End of tag '}}' was expected at (2:8)\nSource: ..."; the position is 1-based line:column.</summary>
    internal static (int Line, int Column, string Message) ParseErrorPosition(string error)
    {
        var match = ParseErrorRegex().Match(error);
        return match.Success
            ? (int.Parse(match.Groups["line"].Value, CultureInfo.InvariantCulture),
                int.Parse(match.Groups["column"].Value, CultureInfo.InvariantCulture),
                match.Groups["message"].Value.Trim())
            : (1, 1, error.Trim());
    }

    private static (int Line, int Column) Locate(string source, Regex pattern)
    {
        var match = pattern.Match(source);
        return match.Success ? LineAndColumn(source, match.Index) : (1, 1);
    }

    private static (int Line, int Column) LineAndColumn(string source, int index)
    {
        var before = source.AsSpan(0, Math.Min(index, source.Length));
        return (before.Count('\n') + 1, before.Length - (before.LastIndexOf('\n') + 1) + 1);
    }

    private static Regex FilterPattern(string filter) => new($@"\|\s*{Regex.Escape(filter)}(?!\w)", RegexOptions.CultureInvariant);

    private static Regex FileTagPattern(string tag) => new($@"\{{%-?\s*{Regex.Escape(tag)}(?!\w)", RegexOptions.CultureInvariant);

    [GeneratedRegex(@"^(?<message>.*?) at \((?<line>\d+):(?<column>\d+)\)", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex ParseErrorRegex();

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    private static InvalidOperationException NoContent(string channel) => new($"The template has no {channel} content in this locale.");

    // An unknown locale or zone is the recipient profile's problem, not the template's: render with neutral
    // formatting and UTC rather than fail the message.
    private static CultureInfo ResolveCulture(string locale) =>
        Cultures.TryGetValue(locale, out var culture) ? culture : Remember(Cultures, locale, LoadCulture(locale));

    private static TimeZoneInfo ResolveTimeZone(string id) =>
        TimeZones.TryGetValue(id, out var zone) ? zone : Remember(TimeZones, id, TimeZoneInfo.TryFindSystemTimeZoneById(id, out var found) ? found : TimeZoneInfo.Utc);

    private static CultureInfo LoadCulture(string locale)
    {
        try
        {
            return CultureInfo.GetCultureInfo(locale);
        }
        catch (CultureNotFoundException)
        {
            return CultureInfo.InvariantCulture;
        }
    }

    private static T Remember<T>(ConcurrentDictionary<string, T> cache, string key, T value)
    {
        // Locales and zones come from recipient profiles, so the set is small; the cap guards against junk input.
        if (cache.Count < MaxCachedEnvironments)
        {
            cache.TryAdd(key, value);
        }

        return value;
    }
}
