using System.Text.Json;
using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Rendering;
using static Notify.Templates.Tests.Rendering.RenderTestData;

namespace Notify.Templates.Tests.Rendering;

public sealed class LiquidFiltersTests
{
    private static readonly LiquidRenderer Renderer = new();

    private static string Render(string text, string json = "{}", string locale = "en-US", string timeZone = "UTC") =>
        Renderer.Render(Channels.Sms, new ChannelContents(Sms: new SmsContent(text)), Context(json, locale, timeZone)).Text!;

    [Theory]
    // Lisbon moves from WET (+00:00) to WEST (+01:00) at 01:00 UTC on 30 March 2025.
    [InlineData("2025-03-30T00:30:00Z", "Europe/Lisbon", "2025-03-30 00:30 +00:00")]
    [InlineData("2025-03-30T01:30:00Z", "Europe/Lisbon", "2025-03-30 02:30 +01:00")]
    // New York moves from EST to EDT at 07:00 UTC on 9 March 2025.
    [InlineData("2025-03-09T06:30:00Z", "America/New_York", "2025-03-09 01:30 -05:00")]
    [InlineData("2025-03-09T07:30:00Z", "America/New_York", "2025-03-09 03:30 -04:00")]
    // An instant with its own offset is still shown in the recipient's zone.
    [InlineData("2025-03-30T22:00:00-03:00", "Asia/Tokyo", "2025-03-31 10:00 +09:00")]
    public void Format_datetime_shows_instants_in_the_recipients_zone_across_dst(string instant, string zone, string expected)
    {
        var output = Render("{{ at | format_datetime: 'yyyy-MM-dd HH:mm zzz' }}", $$"""{"at": "{{instant}}"}""", timeZone: zone);

        Assert.Equal(expected, output);
    }

    [Theory]
    [InlineData("en-US", "Sunday, March 30, 2025")]
    [InlineData("pt-BR", "domingo, 30 de março de 2025")]
    public void Format_date_long_uses_the_recipients_language(string locale, string expected)
    {
        Assert.Equal(expected, Render("{{ at | format_date: 'long' }}", """{"at": "2025-03-30T12:00:00Z"}""", locale, "Europe/Lisbon"));
    }

    [Fact]
    public void Format_date_short_and_named_styles_follow_the_culture()
    {
        const string json = """{"at": "2025-03-30T14:05:00Z"}""";

        Assert.Equal("3/30/2025 | 2:05 PM", PlainSpaces(Render("{{ at | format_date: 'short' }} | {{ at | format_time }}", json)));
        Assert.Equal("30/03/2025 | 14:05", Render("{{ at | format_date: 'short' }} | {{ at | format_time }}", json, "pt-BR"));
    }

    [Fact]
    public void Format_date_accepts_dotnet_format_strings()
    {
        Assert.Equal("30 Mar 2025 02:30", Render("{{ at | format_date: 'dd MMM yyyy HH:mm' }}", """{"at": "2025-03-30T01:30:00Z"}""", timeZone: "Europe/Lisbon"));
    }

    [Fact]
    public void Dates_without_an_offset_are_wall_clock_times_and_are_not_shifted()
    {
        // A due date of 30 March must not become 29 March for a recipient west of UTC.
        var output = Render("{{ due | format_date: 'yyyy-MM-dd' }} {{ meeting | format_datetime: 'HH:mm zzz' }}",
            """{"due": "2025-03-30", "meeting": "2025-07-01T09:00:00"}""", timeZone: "America/Los_Angeles");

        Assert.Equal("2025-03-30 09:00 -07:00", output);
    }

    [Fact]
    public void Format_date_accepts_datetimeoffset_values_from_code()
    {
        var data = new Dictionary<string, object?> { ["at"] = new DateTimeOffset(2025, 8, 1, 23, 30, 0, TimeSpan.Zero) };

        var output = Renderer.Render(Channels.Sms, new ChannelContents(Sms: new SmsContent("{{ at | format_date: 'yyyy-MM-dd HH:mm' }}")),
            Context(data, timeZone: "Europe/Berlin")).Text;

        Assert.Equal("2025-08-02 01:30", output);
    }

    [Fact]
    public void Text_that_is_not_a_date_passes_through_unchanged()
    {
        Assert.Equal("soon | soon", Render("{{ at | format_date: 'long' }} | {{ at | relative_time }}", """{"at": "soon"}"""));
    }

    [Fact]
    public void Invalid_date_format_is_a_render_error_that_names_the_format()
    {
        var error = Assert.Throws<LiquidRenderException>(() => Render("{{ at | format_date: '%' }}", """{"at": "2025-03-30T12:00:00Z"}"""));

        Assert.Contains("'%'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2025-03-31T12:00:00Z", "in 3 days")]
    [InlineData("2025-03-28T10:00:00Z", "2 hours ago")]
    [InlineData("2025-03-28T11:59:50Z", "just now")]
    [InlineData("2025-03-28T12:01:00Z", "in 1 minute")]
    [InlineData("2025-03-28T13:00:00+01:00", "just now")]
    [InlineData("2025-01-20T12:00:00Z", "2 months ago")]
    [InlineData("2027-03-28T12:00:00Z", "in 2 years")]
    public void Relative_time_is_measured_from_the_render_clock(string at, string expected)
    {
        // RenderTestData.Now is 2025-03-28T12:00:00Z.
        Assert.Equal(expected, Render("{{ at | relative_time }}", $$"""{"at": "{{at}}"}"""));
    }

    [Theory]
    [InlineData(59.6, "in 1 hour")]
    [InlineData(-23.6 * 60, "1 day ago")]
    [InlineData(45 * 24 * 60, "in 1 month")]
    [InlineData(-400 * 24 * 60, "1 year ago")]
    public void Relative_time_rounds_to_the_next_unit_instead_of_showing_60_minutes(double minutes, string expected)
    {
        Assert.Equal(expected, LiquidFilters.Describe(TimeSpan.FromMinutes(minutes)));
    }

    [Theory]
    [InlineData("pt-BR", "€ 12,50 | R$ 1.234,00 | $ 3,00")]
    [InlineData("en-US", "€12.50 | R$1,234.00 | $3.00")]
    [InlineData("de-DE", "12,50 € | 1.234,00 R$ | 3,00 $")]
    public void Currency_is_formatted_by_the_recipients_locale(string locale, string expected)
    {
        var output = PlainSpaces(Render("{{ a | currency: 'EUR' }} | {{ b | currency: 'BRL' }} | {{ c | currency: 'USD' }}", """{"a": 12.5, "b": 1234, "c": 3}""", locale));

        Assert.Equal(expected, output);
    }

    [Fact]
    public void Currency_uses_the_currencys_own_decimals()
    {
        Assert.Equal("¥1,235", Render("{{ 1234.5 | currency: 'JPY' }}"));
    }

    [Theory]
    [InlineData("en-US", "{{ n | format_number: 2 }}", "1,234.50")]
    [InlineData("pt-BR", "{{ n | format_number: 2 }}", "1.234,50")]
    [InlineData("en-US", "{{ n | format_number }}", "1,234.5")]
    [InlineData("en-US", "{{ whole | format_number }}", "1,000,000")]
    [InlineData("en-US", "{{ ratio | format_number: 'P1' }}", "25.6%")]
    public void Format_number_groups_and_rounds_by_locale(string locale, string template, string expected)
    {
        Assert.Equal(expected, PlainSpaces(Render(template, """{"n": 1234.5, "whole": 1000000, "ratio": 0.256}""", locale)));
    }

    [Theory]
    [InlineData("""{}""", "Hello there")]
    [InlineData("""{"name": null}""", "Hello there")]
    [InlineData("""{"name": ""}""", "Hello there")]
    [InlineData("""{"name": "Ana"}""", "Hello Ana")]
    public void Default_filter_fills_in_missing_names(string json, string expected)
    {
        Assert.Equal(expected, Render("Hello {{ name | default: 'there' }}", json));
    }

    [Fact]
    public void Json_filter_writes_data_as_json()
    {
        var output = Render("{{ order | json }}", """{"order": {"id": 7, "tags": ["a", "b"], "note": "say \"hi\"", "gift": false, "coupon": null, "city": "São Paulo"}}""");

        using var parsed = JsonDocument.Parse(output);
        Assert.Equal(7, parsed.RootElement.GetProperty("id").GetInt32());
        Assert.Equal("b", parsed.RootElement.GetProperty("tags")[1].GetString());
        Assert.Equal("say \"hi\"", parsed.RootElement.GetProperty("note").GetString());
        Assert.Equal(JsonValueKind.False, parsed.RootElement.GetProperty("gift").ValueKind);
        Assert.Equal(JsonValueKind.Null, parsed.RootElement.GetProperty("coupon").ValueKind);
        // Letters stay readable in webhook bodies instead of becoming \u00E3.
        Assert.Contains("\"São Paulo\"", output, StringComparison.Ordinal);
    }
}
