using System.Diagnostics;
using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Rendering;
using static Notify.Templates.Tests.Rendering.RenderTestData;

namespace Notify.Templates.Tests.Rendering;

/// <summary>Tenant-authored templates must not reach .NET members, files, or unbounded CPU and memory.</summary>
public sealed class LiquidSecurityTests
{
    private static readonly LiquidRenderer Renderer = new();

    private static string RenderSms(string text, RenderContext? context = null) =>
        Renderer.Render(Channels.Sms, new ChannelContents(Sms: new SmsContent(text)), context ?? Context("""{"user": {"name": "Ana"}, "x": 1, "items": [1]}""")).Text!;

    [Theory]
    [InlineData("{{ model.GetType }}")]
    [InlineData("{{ user.GetType }}")]
    [InlineData("{{ x.GetType.Assembly }}")]
    [InlineData("{{ user.name.GetType.Assembly.Location }}")]
    [InlineData("{{ user.name.Length }}")]
    [InlineData("{{ items.GetType.FullName }}")]
    [InlineData("{{ Count }}{{ Keys }}{{ Comparer }}")]
    [InlineData("{{ user.Count }}{{ user.Keys }}")]
    public void Dotnet_members_of_data_render_nothing(string template)
    {
        var output = RenderSms($"[{template}]");

        Assert.Equal("[]", output);
    }

    [Fact]
    public void Dotnet_members_of_clr_values_handed_in_by_code_render_nothing()
    {
        var data = new Dictionary<string, object?>
        {
            ["account"] = new Credentials("hunter2"),
            ["when"] = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero),
            ["id"] = Guid.Empty,
        };

        var output = RenderSms("[{{ account.Password }}{{ account.GetType }}{{ when.Offset }}{{ when.GetType }}{{ id.GetType }}]", Context(data));

        // An unsafe member access strategy would print hunter2 here.
        Assert.Equal("[]", output);
    }

    public sealed record Credentials(string Password);

    [Theory]
    [InlineData("{% include '/etc/passwd' %}")]
    [InlineData("{% render '/etc/passwd' %}")]
    [InlineData("{% include '../../../../../../etc/passwd' %}")]
    public void Templates_cannot_read_files(string template)
    {
        Assert.True(File.Exists("/etc/passwd"), "the test needs a file that exists to prove it is not read");

        var error = Assert.Throws<LiquidRenderException>(() => RenderSms(template));

        Assert.DoesNotContain("root:", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("cannot load other templates or files", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{% for a in (1..10000) %}{% for b in (1..10000) %}{% endfor %}{% endfor %}")]
    [InlineData("{% for a in items %}{% for b in (1..10000) %}{% for c in (1..10000) %}{% endfor %}{% endfor %}{% endfor %}")]
    public void Runaway_loops_stop_with_a_render_error(string template)
    {
        var clock = Stopwatch.StartNew();

        var error = Assert.Throws<LiquidRenderException>(() => RenderSms(template));

        Assert.Contains("too much work", error.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Theory]
    // Fluid turns a range into an array before looping, so without a bound these allocate gigabytes at once.
    [InlineData("{% for i in (1..2000000000) %}x{% endfor %}")]
    [InlineData("{% for i in (1..n) %}x{% endfor %}")]
    [InlineData("{% assign r = (0..n) %}{{ r | size }}")]
    public void Huge_ranges_stop_with_a_render_error_before_allocating(string template)
    {
        var error = Assert.Throws<LiquidRenderException>(() => RenderSms(template, Context("""{"n": 2000000000}""")));

        Assert.Contains($"more than {LiquidLimits.MaxRangeLength} numbers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ranges_within_the_limit_still_work()
    {
        Assert.Equal("1,2,3|10000", RenderSms("{% for i in (1..n) %}{{ i }}{% unless forloop.last %},{% endunless %}{% endfor %}|{% assign r = (1..10000) %}{{ r | size }}", Context("""{"n": 3}""")));
    }

    [Theory]
    [InlineData("{% assign s = 'xxxxxxxxxx' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}")]
    [InlineData("{% assign s = 'xxxxxxxxxx' %}{% for i in (1..40) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}{{ s | size }}")]
    [InlineData("{% for i in (1..5000) %}{{ big }}{% endfor %}")]
    [InlineData("{{ big | replace: 'y', big }}")]
    [InlineData("{% assign a = big | split: 'z' %}{% for i in (1..10) %}{% assign a = a | concat: a %}{% endfor %}{{ a | join: '' }}")]
    [InlineData("{% assign a = 'x,y' | split: ',' %}{% for i in (1..30) %}{% assign a = a | concat: a %}{% endfor %}{{ a | size }}")]
    [InlineData("{{ 'now' | date: '%999999999Y' }}")]
    public void Templates_that_build_huge_values_stop_with_a_render_error(string template)
    {
        var context = Context($$"""{"big": "{{new string('y', 2000)}}"}""");
        var clock = Stopwatch.StartNew();

        var error = Assert.Throws<LiquidRenderException>(() => RenderSms(template, context));

        Assert.Matches("longer than|width over", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Number_formats_cannot_ask_for_a_billion_digits()
    {
        var error = Assert.Throws<LiquidRenderException>(() => RenderSms("{{ 5 | format_number: 'N999999999' }}"));

        Assert.Contains("more than 28 digits", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_string_is_not_available_because_its_widths_are_unbounded()
    {
        var contents = new ChannelContents(Sms: new SmsContent("{{ '{0,999999}' | format_string: 'x' }}"));

        var error = Assert.Single(Renderer.Validate(contents));

        Assert.Contains("'format_string'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nested ifs")]
    [InlineData("filter chain")]
    [InlineData("nested indexers")]
    [InlineData("or chain")]
    [InlineData("nested ifs in a liquid tag")]
    [InlineData("too long")]
    public void Templates_deep_enough_to_overflow_the_parsers_stack_are_rejected_before_parsing(string shape)
    {
        // Each of these overflows the stack of Fluid's recursive parser or evaluator, which ends the process.
        var template = shape switch
        {
            "nested ifs" => Repeat("{% if a %}", 5000) + Repeat("{% endif %}", 5000),
            "filter chain" => "{{ a" + Repeat(" | abs", 5000) + " }}",
            "nested indexers" => "{{ " + Repeat("a[", 2000) + "1" + Repeat("]", 2000) + " }}",
            "or chain" => "{% if a" + Repeat(" or a", 50000) + " %}x{% endif %}",
            "nested ifs in a liquid tag" => "{% liquid\n" + Repeat("if a\n", 2000) + Repeat("endif\n", 2000) + "%}",
            _ => Repeat("{{ a }}", 50000),
        };

        var error = Assert.Single(Renderer.Validate(new ChannelContents(Sms: new SmsContent(template))));
        var renderError = Assert.Throws<LiquidRenderException>(() => RenderSms(template));

        Assert.Matches("more than|longer than", error.Message);
        Assert.Contains(error.Message, renderError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Structure_check_leaves_ordinary_templates_alone()
    {
        const string template = "{% raw %}{% if %}{% if %}{{ | | | }}{% endraw %}{% comment %}{% for %}{% endcomment %}{% # a note: it's fine %}"
            + "{% liquid\n# it's a comment\nassign x = '%}' | size\n%}"
            + "{{ \"}}|[\" | append: '%}' }}{%- if a == 1 and b != 2 or c contains 'x' -%}{{ items[0][\"k\"] | upcase }}{%- endif -%}";

        Assert.Empty(Renderer.Validate(new ChannelContents(Sms: new SmsContent(template))));
        Assert.Equal("{% if %}{% if %}{{ | | | }}}}|[%}2", RenderSms(template + "{{ x }}", Context("""{"a": 2}""")));
    }

    private static string Repeat(string text, int times) => string.Concat(Enumerable.Repeat(text, times));

    [Fact]
    public void Limits_leave_room_for_a_long_digest()
    {
        // 500 items, nested blocks and filters: far more than a real digest, well under the limits.
        var items = string.Join(",", Enumerable.Range(1, 500).Select(i => $$"""{"name": "Item {{i}}", "price": {{i}}.5, "tags": ["a", "b"]}"""));
        const string template = "{% for item in items %}{% if item.price > 0 %}{% for tag in item.tags %}{% unless tag == 'z' %}"
            + "{{ item.name | upcase }} {{ item.price | currency: 'EUR' }} {{ tag }}\n{% endunless %}{% endfor %}{% endif %}{% endfor %}";

        var output = RenderSms(template, Context($$"""{"items": [{{items}}]}"""));

        Assert.Equal(1000, output.Count(c => c == '\n'));
        Assert.EndsWith("ITEM 500 €500.50 b\n", output, StringComparison.Ordinal);
    }
}
