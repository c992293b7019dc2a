using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Rendering;
using static Notify.Templates.Tests.Rendering.RenderTestData;

namespace Notify.Templates.Tests.Rendering;

/// <summary>These compile the real embedded layout with RazorLight at run time, as the hosts do.</summary>
public sealed class EmailLayoutRendererTests
{
    private static readonly EmailLayoutRenderer Layout = new();

    private static EmailLayoutModel Brand(string? unsubscribeUrl = "https://notify.test/u/abc?t=1&x=2", string? logoUrl = "https://cdn.acme.test/logo.png") =>
        new("Acme Tea", logoUrl, "#0a7cff", "Rua das Flores 1\n4000-001 Porto", "Your order is on its way", unsubscribeUrl, "pt-BR");

    [Fact]
    public async Task Layout_shows_brand_logo_colour_preheader_address_content_and_unsubscribe_link()
    {
        var html = await Layout.WrapAsync("<p>Order <strong>#42</strong> shipped.</p>", Brand());

        Assert.StartsWith("<!DOCTYPE html>", html.TrimStart(), StringComparison.Ordinal);
        Assert.Contains("<html lang=\"pt-BR\"", html, StringComparison.Ordinal);
        Assert.Contains("<p>Order <strong>#42</strong> shipped.</p>", html, StringComparison.Ordinal);
        Assert.Contains("""<img src="https://cdn.acme.test/logo.png" alt="Acme Tea" """, html, StringComparison.Ordinal);
        Assert.Contains("border-top:4px solid #0a7cff", html, StringComparison.Ordinal);
        Assert.Matches("<div style=\"display:none;[^\"]*\">Your order is on its way", html);
        Assert.Contains("Rua das Flores 1", html, StringComparison.Ordinal);
        Assert.Contains("4000-001 Porto", html, StringComparison.Ordinal);
        Assert.Matches("""<a href="https://notify.test/u/abc\?t=1&amp;x=2"[^>]*>Unsubscribe</a>""", html);
    }

    [Fact]
    public async Task Without_an_unsubscribe_url_there_is_no_unsubscribe_link()
    {
        var html = await Layout.WrapAsync("<p>Your password was reset.</p>", Brand(unsubscribeUrl: null));

        Assert.DoesNotContain("Unsubscribe", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<p>Your password was reset.</p>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_logo_the_brand_name_is_the_header()
    {
        var html = await Layout.WrapAsync("<p>x</p>", Brand(logoUrl: null));

        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.Matches("<span [^>]*>Acme Tea</span>", html);
    }

    [Fact]
    public async Task Branding_values_are_encoded_and_unsafe_values_are_dropped()
    {
        var model = new EmailLayoutModel("<b>Evil</b> & Co", "javascript:alert(1)", "red;background:url(https://evil.test/x)",
            null, "<script>x</script>", "javascript:alert(2)");

        var html = await Layout.WrapAsync("<p>x</p>", model);

        Assert.Contains("&lt;b&gt;Evil&lt;/b&gt; &amp; Co", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>Evil", html, StringComparison.Ordinal);
        Assert.DoesNotContain("javascript:", html, StringComparison.Ordinal);
        Assert.DoesNotContain("evil.test", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("border-top:4px solid #52525b", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_preheader_there_is_no_hidden_preview_block()
    {
        var html = await Layout.WrapAsync("<p>x</p>", Brand() with { Preheader = null });

        Assert.DoesNotContain("display:none", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_wraps_each_get_their_own_content()
    {
        var pages = await Task.WhenAll(Enumerable.Range(0, 32).Select(i => Layout.WrapAsync($"<p>message {i}.</p>", Brand())));

        Assert.All(pages.Select((html, i) => (html, i)), page =>
        {
            Assert.Contains($"<p>message {page.i}.</p>", page.html, StringComparison.Ordinal);
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(page.html, "<p>message"));
        });
    }

    [Fact]
    public async Task Rendered_liquid_content_goes_into_the_layout_still_encoded()
    {
        var renderer = new LiquidRenderer();
        var email = renderer.RenderEmail(new EmailContent("s", "<p>Hi {{ name }}</p>", Preheader: "For {{ name }}"), Context("""{"name": "<i>Ana</i>"}"""));

        var html = await Layout.WrapAsync(email.Html, Brand() with { Preheader = email.Preheader });

        Assert.Contains("<p>Hi &lt;i&gt;Ana&lt;/i&gt;</p>", html, StringComparison.Ordinal);
        Assert.Contains(">For &lt;i&gt;Ana&lt;/i&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<i>Ana", html, StringComparison.Ordinal);
    }
}
