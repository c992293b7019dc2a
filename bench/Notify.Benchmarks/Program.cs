using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Notify.Modules.Templates.Contracts;
using Notify.Modules.Templates.Rendering;

namespace Notify.Benchmarks;

/// <summary>
/// Single-threaded renders per second of a typical email (subject, HTML and text, ten variables, parsed once and
/// served from the cache). A Stopwatch loop after a warm-up, repeated and reported as the median, is enough to
/// see regressions; arguments: [runs] [renders per run], or --sample to print the rendered email and stop.
/// </summary>
internal static class Program
{
    private const string Subject = "{{ customer.first_name }}, your order {{ order.number }} has shipped";

    private const string Html = """
        <h1 style="margin:0 0 16px 0;font-size:22px;">Good news, {{ customer.first_name | default: 'there' }}!</h1>
        <p>Your order <strong>#{{ order.number }}</strong>, placed on {{ order.placed_at | format_date: 'long' }}, is on its way with {{ carrier }}.</p>
        <p>It should arrive {{ eta | relative_time }} ({{ eta | format_date: 'short' }}).</p>
        <table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:16px 0;">
          {% for item in order.items %}
          <tr>
            <td style="padding:8px 0;border-bottom:1px solid #e4e4e7;">{{ item.name }}</td>
            <td style="padding:8px 0;border-bottom:1px solid #e4e4e7;text-align:center;">× {{ item.qty }}</td>
            <td style="padding:8px 0;border-bottom:1px solid #e4e4e7;text-align:right;">{{ item.price | currency: order.currency }}</td>
          </tr>
          {% endfor %}
          <tr>
            <td colspan="2" style="padding:8px 0;font-weight:bold;">Total</td>
            <td style="padding:8px 0;text-align:right;font-weight:bold;">{{ order.total | currency: order.currency }}</td>
          </tr>
        </table>
        <p><a href="{{ tracking_url }}" style="display:inline-block;padding:12px 20px;background:#0a7cff;color:#ffffff;text-decoration:none;border-radius:4px;">Track your parcel</a></p>
        {% if order.gift %}<p>We left the prices out of the parcel because it is a gift.</p>{% endif %}
        <p>Questions? Reply to this email or write to <a href="mailto:{{ support_email }}">{{ support_email }}</a>.</p>
        <p>Thank you for shopping with {{ shop_name }}.</p>
        """;

    private const string Text = """
        Good news, {{ customer.first_name | default: 'there' }}!

        Your order #{{ order.number }}, placed on {{ order.placed_at | format_date: 'long' }}, is on its way with {{ carrier }}.
        It should arrive {{ eta | relative_time }} ({{ eta | format_date: 'short' }}).

        {% for item in order.items %}- {{ item.name }} × {{ item.qty }}: {{ item.price | currency: order.currency }}
        {% endfor %}Total: {{ order.total | currency: order.currency }}

        Track your parcel: {{ tracking_url }}
        Questions? Write to {{ support_email }}.
        Thank you for shopping with {{ shop_name }}.
        """;

    // Ten top-level variables, as a typical transactional email has.
    private const string Data = """
        {
          "customer": {"first_name": "Ana"},
          "order": {
            "number": "100-4821", "placed_at": "2025-03-27T18:42:00Z", "currency": "EUR", "total": 57.40, "gift": false,
            "items": [
              {"name": "Sencha green tea 100 g", "qty": 2, "price": 12.50},
              {"name": "Cast-iron teapot", "qty": 1, "price": 29.90},
              {"name": "Bamboo tea scoop", "qty": 1, "price": 2.50}
            ]
          },
          "carrier": "CTT Expresso",
          "eta": "2025-03-31T12:00:00Z",
          "tracking_url": "https://track.example.com/p/CT123456789PT?lang=pt",
          "support_email": "help@acme-tea.example",
          "shop_name": "Acme Tea",
          "unused_1": "x",
          "unused_2": 42
        }
        """;

    public static async Task<int> Main(string[] args)
    {
        var printSample = args.Contains("--sample");
        args = [.. args.Where(a => a != "--sample")];
        var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        var renders = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50_000;

        var renderer = new LiquidRenderer();
        var layout = new EmailLayoutRenderer();
        var withText = new ChannelContents(Email: new EmailContent(Subject, Html, Text, "Your parcel is on its way"));
        var derivedText = new ChannelContents(Email: new EmailContent(Subject, Html));
        var context = new RenderContext(
            RenderData.FromJson(JsonSerializer.Deserialize<JsonElement>(Data)), "pt-BR", "Europe/Lisbon",
            new DateTimeOffset(2025, 3, 28, 9, 0, 0, TimeSpan.Zero));
        var brand = new EmailLayoutModel("Acme Tea", "https://cdn.acme-tea.example/logo.png", "#0a7cff",
            "Rua das Flores 1\n4000-001 Porto", "Your parcel is on its way", "https://notify.example/u/abc", "pt-BR");

        var errors = renderer.Validate(withText);
        if (errors.Count > 0)
        {
            Console.Error.WriteLine($"template does not validate: {errors[0]}");
            return 1;
        }

        var compile = Stopwatch.StartNew();
        await layout.WarmUpAsync();
        var compileTime = compile.Elapsed;
        var sample = renderer.Render(Channels.Email, withText, context);
        var wrapped = await layout.WrapAsync(sample.Html!, brand);
        if (printSample)
        {
            Console.WriteLine($"Subject: {sample.Subject}\n\n{sample.Text}\n\n{wrapped}\n\nDerived text:\n{renderer.Render(Channels.Email, derivedText, context).Text}");
            return 0;
        }

        Console.WriteLine($"sample: subject \"{sample.Subject}\", html {sample.Html!.Length} chars, text {sample.Text!.Length} chars, wrapped {wrapped.Length} chars");
        Console.WriteLine($"{runs} runs, {Environment.ProcessorCount} cores, {RuntimeInfo()}; layout compiled by RazorLight in {compileTime.TotalMilliseconds:N0} ms");
        Console.WriteLine();

        Report("LiquidRenderer.Render (email: subject + html + text)", runs, renders,
            () => renderer.Render(Channels.Email, withText, context));
        // Worst case for the parse cache: the same template arrives as new string objects each time (read from the
        // database per message), so its source is hashed on every render before the cache lookup.
        Report("LiquidRenderer.Render (same email, new string instances each render)", runs, renders, () =>
            renderer.Render(Channels.Email, new ChannelContents(Email: new EmailContent(Copy(Subject), Copy(Html), Copy(Text))), context));
        Report("LiquidRenderer.Render (email, text derived by HtmlToText)", runs, renders,
            () => renderer.Render(Channels.Email, derivedText, context));
        Report("HtmlToText.Convert (the sample's html alone)", runs, renders, () => HtmlToText.Convert(sample.Html!));
        Report("Render + EmailLayoutRenderer.WrapAsync", runs, renders / 2, () =>
        {
            var email = renderer.RenderEmail(withText.Email!, context);
            return layout.WrapAsync(email.Html, brand with { Preheader = email.Preheader }).GetAwaiter().GetResult();
        });
        return 0;
    }

    private static void Report<T>(string name, int runs, int renders, Func<T> render)
    {
        // Warm-up long enough for tiered compilation to reach its optimised code.
        var warmUp = Stopwatch.StartNew();
        while (warmUp.Elapsed < TimeSpan.FromSeconds(1))
        {
            render();
        }

        var rates = new List<double>(runs);
        for (var run = 0; run < runs; run++)
        {
            GC.Collect();
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < renders; i++)
            {
                render();
            }

            rates.Add(renders / clock.Elapsed.TotalSeconds);
        }

        var median = rates.Order().ElementAt(rates.Count / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: median {median:N0} renders/s ({renders:N0} renders x {runs} runs: {string.Join(", ", rates.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))})"));
    }

    private static string Copy(string text) => new(text.AsSpan());

    private static string RuntimeInfo() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;
}
