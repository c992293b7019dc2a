using Notify.Modules.Templates.Rendering;

namespace Notify.Templates.Tests.Rendering;

public sealed class HtmlToTextTests
{
    [Fact]
    public void Paragraphs_become_blank_line_separated_and_breaks_new_lines()
    {
        Assert.Equal("Hello Ana,\n\nYour order\nhas shipped.", HtmlToText.Convert("<p>Hello Ana,</p><p>Your order<br>has shipped.</p>"));
        Assert.Equal("one\ntwo\nthree", HtmlToText.Convert("one<br/>two<BR />three"));
    }

    [Fact]
    public void Links_show_their_address_after_the_text()
    {
        Assert.Equal("See your order (https://shop.test/o/1?a=1&b=2).",
            HtmlToText.Convert("""<p>See <a href="https://shop.test/o/1?a=1&amp;b=2" style="color:red">your order</a>.</p>"""));
    }

    [Fact]
    public void Links_whose_text_is_the_address_are_not_repeated()
    {
        Assert.Equal("Visit https://shop.test or mail help@shop.test",
            HtmlToText.Convert("""Visit <a href="https://shop.test">https://shop.test</a> or mail <a href="mailto:help@shop.test">help@shop.test</a>"""));
    }

    [Fact]
    public void Quoted_attributes_may_contain_angle_brackets_and_text_may_contain_less_than()
    {
        Assert.Equal("a < b and 3 <4 https://x.test/?q=>", HtmlToText.Convert("""a < b and <span title="x > y">3 <4</span> <a href="https://x.test/?q=>"></a>"""));
    }

    [Fact]
    public void Entities_are_decoded()
    {
        Assert.Equal("Tom & Jerry <3 café “quoted”", HtmlToText.Convert("Tom &amp; Jerry&nbsp;&lt;3 caf&#233; &ldquo;quoted&rdquo;"));
    }

    [Fact]
    public void Source_whitespace_collapses_to_single_spaces()
    {
        Assert.Equal("Hello world, again", HtmlToText.Convert("<div>\n   Hello\n\t   world,\n  <b>again</b>  </div>"));
    }

    [Fact]
    public void Head_styles_scripts_and_comments_are_dropped()
    {
        const string html = "<html><head><title>T</title><style>p { color: red; }</style></head>"
            + "<body><!-- hidden <p>note</p> --><script>var x = '<p>';</script><p>Visible</p></body></html>";

        Assert.Equal("Visible", HtmlToText.Convert(html));
    }

    [Fact]
    public void List_items_become_dashed_lines()
    {
        Assert.Equal("Items:\n\n- One\n- Two", HtmlToText.Convert("<p>Items:</p><ul><li>One</li><li>Two</li></ul>"));
    }

    [Fact]
    public void Table_rows_become_lines_with_cells_side_by_side()
    {
        const string html = "<table><tr><td>Tea</td><td>€ 3</td></tr><tr><td>Total</td><td>€ 5</td></tr></table><p>Thanks</p>";

        Assert.Equal("Tea € 3\nTotal € 5\n\nThanks", HtmlToText.Convert(html));
    }

    [Fact]
    public void Headings_are_separate_blocks_and_images_leave_their_alt_text()
    {
        Assert.Equal("Acme\n\nWelcome\n\nHi", HtmlToText.Convert("""<img src="l.png" alt="Acme"><h1>Welcome</h1>Hi<img src="spacer.gif">"""));
    }
}
