using System.Text.Json;
using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Rendering;
using static Notify.Templates.Tests.Rendering.RenderTestData;

namespace Notify.Templates.Tests.Rendering;

public sealed class LiquidRendererTests
{
    private const string Script = "<script>alert(1)</script>";
    private static readonly LiquidRenderer Renderer = new();

    [Fact]
    public void Email_html_escapes_markup_that_comes_from_data()
    {
        var contents = new ChannelContents(Email: new EmailContent("Hi", "<p>Hello {{ name }}</p>"));

        var message = Renderer.Render(Channels.Email, contents, Context($$"""{"name": "{{Script}}"}"""));

        Assert.Equal("<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;</p>", message.Html);
        Assert.DoesNotContain("<script>", message.Html, StringComparison.Ordinal);
    }

    [Fact]
    public void Sms_text_keeps_data_as_written()
    {
        var contents = new ChannelContents(Sms: new SmsContent("Hello {{ name }}"));

        var message = Renderer.Render(Channels.Sms, contents, Context($$"""{"name": "{{Script}}"}"""));

        Assert.Equal($"Hello {Script}", message.Text);
        Assert.Equal(Channels.Sms, message.Channel);
        Assert.Equal("en-US", message.Locale);
    }

    [Fact]
    public void Email_subject_and_text_part_are_not_html_encoded()
    {
        var contents = new ChannelContents(Email: new EmailContent("Order for {{ name }}", "<p>{{ name }}</p>", Text: "Dear {{ name }}"));

        var message = Renderer.Render(Channels.Email, contents, Context("""{"name": "Tom & Jerry"}"""));

        Assert.Equal("Order for Tom & Jerry", message.Subject);
        Assert.Equal("Dear Tom & Jerry", message.Text);
        Assert.Equal("<p>Tom &amp; Jerry</p>", message.Html);
    }

    [Fact]
    public void Email_html_keeps_accented_letters_readable()
    {
        var contents = new ChannelContents(Email: new EmailContent("s", "<p>{{ city }}</p>"));

        var message = Renderer.Render(Channels.Email, contents, Context("""{"city": "São Paulo"}"""));

        Assert.Equal("<p>São Paulo</p>", message.Html);
    }

    [Fact]
    public void Email_without_text_part_derives_it_from_the_rendered_html()
    {
        var html = """<p>Hello {{ name }},</p><p>Track it <a href="https://shop.test/o/{{ order }}">here</a>.</p>""";
        var contents = new ChannelContents(Email: new EmailContent("s", html));

        var message = Renderer.Render(Channels.Email, contents, Context("""{"name": "Ana & Rui", "order": 42}"""));

        Assert.Equal("Hello Ana & Rui,\n\nTrack it here (https://shop.test/o/42).", message.Text);
    }

    [Fact]
    public void Email_subject_becomes_one_line_even_when_data_has_line_breaks()
    {
        var contents = new ChannelContents(Email: new EmailContent("Re: {{ topic }}", "<p>x</p>"));

        var message = Renderer.Render(Channels.Email, contents, Context("""{"topic": "one\r\nBcc: evil@example.com"}"""));

        Assert.Equal("Re: one Bcc: evil@example.com", message.Subject);
    }

    [Fact]
    public void Render_email_returns_the_rendered_preheader_for_the_layout()
    {
        var email = new EmailContent("s", "<p>x</p>", Preheader: "Your code is {{ code }}");

        var rendered = Renderer.RenderEmail(email, Context("""{"code": "<123>"}"""));

        Assert.Equal("Your code is <123>", rendered.Preheader);
    }

    [Fact]
    public void Loops_conditions_and_nested_data_render()
    {
        const string text = "{% for item in order.items %}{{ item.name }} x{{ item.qty }}{% unless forloop.last %}, {% endunless %}{% endfor %}"
            + "{% if order.paid %} (paid){% else %} (due){% endif %}";
        var contents = new ChannelContents(Sms: new SmsContent(text));

        var message = Renderer.Render(Channels.Sms, contents,
            Context("""{"order": {"paid": false, "items": [{"name": "Tea", "qty": 2}, {"name": "Cake", "qty": 1}]}}"""));

        Assert.Equal("Tea x2, Cake x1 (due)", message.Text);
    }

    [Fact]
    public void Push_data_renders_valid_json_when_strings_go_through_the_json_filter()
    {
        var push = new PushContent("Hi {{ user.name }}", "{{ items | size }} items",
            """{"name": {{ user.name | json }}, "count": {{ items | size }}, "user": {{ user | json }}}""");
        const string name = "Ana \"the\" <Great> \\ São";

        var message = Renderer.Render(Channels.Push, new ChannelContents(Push: push),
            Context(data: new Dictionary<string, object?>
            {
                ["user"] = new Dictionary<string, object?> { ["name"] = name, ["vip"] = true },
                ["items"] = new List<object?> { 1L, 2L, 3L },
            }));

        Assert.Equal($"Hi {name}", message.Title);
        Assert.Equal("3 items", message.Body);
        using var data = JsonDocument.Parse(message.Data!);
        Assert.Equal(name, data.RootElement.GetProperty("name").GetString());
        Assert.Equal(3, data.RootElement.GetProperty("count").GetInt32());
        Assert.True(data.RootElement.GetProperty("user").GetProperty("vip").GetBoolean());
    }

    [Fact]
    public void Webhook_body_that_does_not_render_to_json_is_a_render_error()
    {
        var contents = new ChannelContents(Webhook: new WebhookContent("""{"name": {{ name }}}"""));

        var error = Assert.Throws<LiquidRenderException>(() => Renderer.Render(Channels.Webhook, contents, Context("""{"name": "Ana"}""")));

        Assert.Equal(Channels.Webhook, error.Channel);
        Assert.Equal("body", error.Field);
        Assert.Contains("json filter", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Webhook_body_renders_arrays_and_objects()
    {
        var contents = new ChannelContents(Webhook: new WebhookContent("""{"event": "order.shipped", "items": {{ items | json }}}"""));

        var message = Renderer.Render(Channels.Webhook, contents, Context("""{"items": [{"sku": "A-1", "price": 12.50}]}"""));

        using var body = JsonDocument.Parse(message.Body!);
        Assert.Equal("A-1", body.RootElement.GetProperty("items")[0].GetProperty("sku").GetString());
        Assert.Equal(12.50m, body.RootElement.GetProperty("items")[0].GetProperty("price").GetDecimal());
    }

    [Fact]
    public void Push_data_must_be_a_json_object()
    {
        var contents = new ChannelContents(Push: new PushContent("t", "b", "[1, 2]"));

        var error = Assert.Throws<LiquidRenderException>(() => Renderer.Render(Channels.Push, contents, Context()));

        Assert.Equal("data", error.Field);
    }

    [Fact]
    public void In_app_renders_title_body_and_action_url()
    {
        var contents = new ChannelContents(InApp: new InAppContent("Order {{ id }}", "Shipped to {{ city }}", "https://app.test/orders/{{ id }}"));

        var message = Renderer.Render(Channels.InApp, contents, Context("""{"id": 7, "city": "Porto"}"""));

        Assert.Equal(("Order 7", "Shipped to Porto", "https://app.test/orders/7"), (message.Title, message.Body, message.ActionUrl));
    }

    [Fact]
    public void Channel_without_content_throws_invalid_operation()
    {
        var contents = new ChannelContents(Sms: new SmsContent("x"));

        Assert.Throws<InvalidOperationException>(() => Renderer.Render(Channels.Email, contents, Context()));
    }

    [Fact]
    public void Template_with_a_syntax_error_is_a_render_error_not_a_half_message()
    {
        var contents = new ChannelContents(Sms: new SmsContent("Hello {{ name "));

        var error = Assert.Throws<LiquidRenderException>(() => Renderer.Render(Channels.Sms, contents, Context()));

        Assert.Contains("line 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Equal_sources_share_one_parsed_template_and_an_edited_source_gets_its_own()
    {
        var renderer = new LiquidRenderer();
        var context = Context("""{"name": "Ana"}""");

        var first = renderer.Render(Channels.Sms, new ChannelContents(Sms: new SmsContent("Hello {{ name }}")), context);
        var again = renderer.Render(Channels.Sms, new ChannelContents(Sms: new SmsContent(string.Concat("Hello ", "{{ name }}"))), context);
        Assert.Equal(1, renderer.CachedTemplateCount);

        var edited = renderer.Render(Channels.Sms, new ChannelContents(Sms: new SmsContent("Bye {{ name }}")), context);

        Assert.Equal(2, renderer.CachedTemplateCount);
        Assert.Equal(("Hello Ana", "Hello Ana", "Bye Ana"), (first.Text, again.Text, edited.Text));
    }

    [Fact]
    public void Assignments_in_one_field_do_not_leak_into_the_next()
    {
        var contents = new ChannelContents(Email: new EmailContent("{% assign name = 'Subject' %}{{ name }}", "<p>{{ name }}</p>"));

        var message = Renderer.Render(Channels.Email, contents, Context("""{"name": "Ana"}"""));

        Assert.Equal(("Subject", "<p>Ana</p>"), (message.Subject, message.Html));
    }

    [Fact]
    public void Concurrent_renders_of_one_template_keep_their_own_data()
    {
        var contents = new ChannelContents(Email: new EmailContent("#{{ n }}", "<p>{% for i in (1..3) %}{{ n }}{% endfor %}</p>"));

        var results = Enumerable.Range(0, 200).AsParallel()
            .Select(n => (n, Renderer.Render(Channels.Email, contents, Context($$"""{"n": {{n}}}"""))))
            .ToList();

        Assert.All(results, r => Assert.Equal(($"#{r.n}", $"<p>{r.n}{r.n}{r.n}</p>"), (r.Item2.Subject, r.Item2.Html)));
    }

    [Fact]
    public void Unknown_locale_and_time_zone_render_with_neutral_formatting_instead_of_failing()
    {
        var contents = new ChannelContents(Sms: new SmsContent("{{ when | format_datetime: 'yyyy-MM-dd HH:mm' }} {{ n | format_number: 1 }}"));

        var message = Renderer.Render(Channels.Sms, contents,
            Context("""{"when": "2025-03-30T10:00:00Z", "n": 1234.56}""", locale: "not a locale!", timeZone: "Mars/Olympus_Mons"));

        Assert.Equal("2025-03-30 10:00 1,234.6", message.Text);
    }
}
