using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Rendering;

namespace Notify.Templates.Tests.Rendering;

public sealed class LiquidValidationTests
{
    private static readonly LiquidRenderer Renderer = new();

    [Fact]
    public void Valid_contents_have_no_errors()
    {
        var contents = new ChannelContents(
            Email: new EmailContent("Hi {{ name | default: 'there' }}", "<p>{% for i in items %}{{ i.price | currency: 'EUR' }}{% endfor %}</p>", "Text", "{{ when | relative_time }}"),
            Sms: new SmsContent("{{ when | format_date: 'short' }} {{ n | format_number: 2 }}"),
            Push: new PushContent("t", "b", """{"a": {{ a | json }}}"""),
            InApp: new InAppContent("t", "b", "https://x.test/{{ id }}"),
            Webhook: new WebhookContent("""{"a": {{ a | json }}, "d": {{ d | format_datetime: 'yyyy' | json }}}"""));

        Assert.Empty(Renderer.Validate(contents));
    }

    [Fact]
    public void Unclosed_output_reports_channel_field_line_and_column()
    {
        var contents = new ChannelContents(Email: new EmailContent("Subject", "Hello\n{{ name "));

        var error = Assert.Single(Renderer.Validate(contents));

        // Reported where the unclosed output starts.
        Assert.Equal(("email", "html", 2, 1), (error.Channel, error.Field, error.Line, error.Column));
        Assert.Contains("'}}'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(" at (", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parser_errors_report_fluids_line_and_column()
    {
        var contents = new ChannelContents(Email: new EmailContent("Subject", "<p>Hello</p>\n<p>{{ name | }}</p>"));

        var error = Assert.Single(Renderer.Validate(contents));

        Assert.Equal(("email", "html", 2, 13), (error.Channel, error.Field, error.Line, error.Column));
        Assert.Contains("identifier was expected", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unclosed_block_reports_the_line_it_was_found_on()
    {
        var contents = new ChannelContents(Sms: new SmsContent("a\nb\n  {% if paid %}thanks"));

        var error = Assert.Single(Renderer.Validate(contents));

        Assert.Equal(("sms", "text", 3), (error.Channel, error.Field, error.Line));
        Assert.Contains("endif", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_broken_field_of_every_channel_is_reported()
    {
        var contents = new ChannelContents(
            Email: new EmailContent("{{ a ", "<p>ok</p>", Preheader: "{% for %}"),
            Push: new PushContent("fine", "{{ b | }}", """{"x": {{ x | json }}}"""),
            InApp: new InAppContent("t", "b", "{% foo %}"));

        var errors = Renderer.Validate(contents);

        Assert.Equal(
            [("email", "subject"), ("email", "preheader"), ("push", "body"), ("in_app", "actionUrl")],
            errors.Select(e => (e.Channel, e.Field)).ToArray());
    }

    [Fact]
    public void Unknown_filter_is_reported_where_it_is_used()
    {
        var contents = new ChannelContents(Sms: new SmsContent("Hi\n  {{ name | upcasee }}"));

        var error = Assert.Single(Renderer.Validate(contents));

        Assert.Equal((2, 11), (error.Line, error.Column));
        Assert.Contains("'upcasee'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Include_and_render_are_reported_as_unavailable()
    {
        var contents = new ChannelContents(Sms: new SmsContent("x\n{% include 'header' %}\n{%- render 'footer' %}"));

        var errors = Renderer.Validate(contents);

        Assert.Equal([(2, 1, "include"), (3, 1, "render")], errors.Select(e => (e.Line, e.Column, e.Message.Split('\'')[1])).ToArray());
    }

    [Fact]
    public void Referenced_variables_are_top_level_names_without_loop_and_assigned_locals()
    {
        const string html = "{{ user.name }}{% for item in order.items %}{{ item.price }}{{ forloop.index }}{% endfor %}"
            + "{% assign total = cart.total | plus: shipping %}{{ total }}{% capture note %}{{ greeting }}{% endcapture %}{{ note }}"
            + "{{ prices[currency] }}{% if vip and item %}{% endif %}{% tablerow cell in cells cols: columns %}{{ cell }}{{ tablerowloop.col }}{% endtablerow %}";
        var contents = new ChannelContents(Email: new EmailContent("Hi {{ first_name }}", html, Preheader: "{{ 'x' | append: suffix }}"));

        var variables = Renderer.ReferencedVariables(contents);

        Assert.Equal(
            ["cart", "cells", "columns", "currency", "first_name", "greeting", "item", "order", "prices", "shipping", "suffix", "user", "vip"],
            variables.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void Referenced_variables_are_collected_across_channels()
    {
        var contents = new ChannelContents(
            Sms: new SmsContent("{{ code }}"),
            Push: new PushContent("{{ title }}", "b", """{"id": {{ order.id | json }}}"""),
            Webhook: new WebhookContent("""{"a": {{ payload | json }}}"""));

        Assert.Equal(["code", "order", "payload", "title"], Renderer.ReferencedVariables(contents).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void Assigning_a_name_from_itself_still_reads_it_from_the_data()
    {
        var contents = new ChannelContents(Sms: new SmsContent("{% assign total = total | plus: 1 %}{{ total }}"));

        Assert.Equal(["total"], Renderer.ReferencedVariables(contents).ToArray());
    }
}
