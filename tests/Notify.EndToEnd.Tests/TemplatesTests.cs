using System.Text.Json;

namespace Notify.EndToEnd.Tests;

[Collection(NotifyAppCollection.Name)]
public sealed class TemplatesTests(NotifyApp notify)
{
    private static object Variant(string locale, string greeting) => new
    {
        locale,
        content = new
        {
            email = new { subject = $"{greeting} {{{{ user.name }}}}", html = $"<p>{greeting} {{{{ user.name }}}}</p><p>{{{{ note }}}}</p>", preheader = "Hi {{ user.name }}" },
            sms = new { text = $"{greeting} {{{{ user.name }}}}: {{{{ note }}}}" },
        },
    };

    private static object WelcomeTemplate(string key) => new
    {
        key,
        name = "Welcome",
        category = "promotional",
        channels = new[] { "email", "sms" },
        defaultLocale = "en",
        variables = new object[] { new { name = "user", required = true }, new { name = "note", required = false } },
        variants = new[] { Variant("en", "Hello"), Variant("pt", "Olá") },
    };

    private async Task<HttpClient> TenantClientAsync(string name)
    {
        var (_, adminKey) = await notify.CreateTenantAsync(name);
        return notify.Client(adminKey);
    }

    private async Task<JsonElement> PreviewAsync(HttpClient client, string key, object body)
    {
        var response = await client.PostAsJsonAsync($"/v1/templates/{key}/preview", body);
        Assert.True(response.StatusCode == HttpStatusCode.OK,
            $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n--- api log ---\n{notify.ApiLogTail()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task Preview_escapes_data_in_html_but_not_in_sms_and_wraps_email_in_the_brand_layout()
    {
        using var client = await TenantClientAsync("Escaping");
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/v1/brand", new { name = "Acme Rockets", primaryColor = "#FF5500", postalAddress = "1 Launch Pad, Mojave" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/v1/templates", WelcomeTemplate("welcome"))).StatusCode);

        var preview = await PreviewAsync(client, "welcome", new { data = new { user = new { name = "Ann" }, note = "<script>alert(1)</script>" } });

        var email = preview.GetProperty("messages").GetProperty("email");
        var html = email.GetProperty("html").GetString()!;
        Assert.Contains("&lt;script&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("Acme Rockets", html, StringComparison.Ordinal);
        Assert.Contains("#FF5500", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("1 Launch Pad, Mojave", html, StringComparison.Ordinal);
        Assert.Contains("/v1/unsubscribe", html, StringComparison.Ordinal);
        Assert.Equal("Hello Ann", email.GetProperty("subject").GetString());
        Assert.Contains("Hello Ann", email.GetProperty("text").GetString(), StringComparison.Ordinal);

        var sms = preview.GetProperty("messages").GetProperty("sms").GetProperty("text").GetString();
        Assert.Equal("Hello Ann: <script>alert(1)</script>", sms);
    }

    [Fact]
    public async Task Preview_falls_back_from_region_to_language_to_default_locale()
    {
        using var client = await TenantClientAsync("Locales");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/v1/templates", WelcomeTemplate("welcome"))).StatusCode);
        var data = new { user = new { name = "Rui" } };

        var brazil = await PreviewAsync(client, "welcome", new { data, locale = "pt-BR" });
        Assert.Equal("pt", brazil.GetProperty("locale").GetString());
        Assert.Equal("Olá Rui", brazil.GetProperty("messages").GetProperty("email").GetProperty("subject").GetString());

        var french = await PreviewAsync(client, "welcome", new { data, locale = "fr-FR" });
        Assert.Equal("en", french.GetProperty("locale").GetString());
        Assert.Equal("Hello Rui", french.GetProperty("messages").GetProperty("email").GetProperty("subject").GetString());
    }

    [Fact]
    public async Task Liquid_syntax_error_is_a_422_naming_locale_channel_field_line_and_column()
    {
        using var client = await TenantClientAsync("Syntax");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/v1/templates", WelcomeTemplate("welcome"))).StatusCode);

        var response = await client.PutAsJsonAsync("/v1/templates/welcome/draft", new
        {
            variables = Array.Empty<object>(),
            variants = new[] { new { locale = "en", content = new { sms = new { text = "Hello\n{{ user.name " } } } },
        });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        var error = Assert.Single(problem.GetProperty("errors").EnumerateArray());
        Assert.Equal("en", error.GetProperty("locale").GetString());
        Assert.Equal("sms", error.GetProperty("channel").GetString());
        Assert.Equal("text", error.GetProperty("field").GetString());
        Assert.Equal(2, error.GetProperty("line").GetInt32());
        Assert.True(error.GetProperty("column").GetInt32() >= 1);

        // Nothing half written: the draft is unchanged.
        var template = await client.GetFromJsonAsync<JsonElement>("/v1/templates/welcome");
        Assert.Equal(2, template.GetProperty("draft").GetProperty("variants").GetArrayLength());
    }

    [Fact]
    public async Task Template_content_cannot_reach_dotnet_members_or_files()
    {
        using var client = await TenantClientAsync("Sandbox");
        object Probe(string key, string text) => new
        {
            key,
            name = "Probe",
            category = "transactional",
            channels = new[] { "sms" },
            variants = new[] { new { locale = "en", content = new { sms = new { text } } } },
        };

        // Reflection through the data renders nothing.
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/v1/templates",
            Probe("probe", "[{{ user.GetType }}][{{ user.name.Length }}][{{ user.GetType.Assembly.Location }}][{{ user.name }}]"))).StatusCode);
        var preview = await PreviewAsync(client, "probe", new { data = new { user = new { name = "Eve" } } });
        Assert.Equal("[][][][Eve]", preview.GetProperty("messages").GetProperty("sms").GetProperty("text").GetString());

        // Reading files is refused when the template is saved.
        var include = await client.PostAsJsonAsync("/v1/templates", Probe("probe-file", "{% include '/etc/passwd' %}"));
        var problem = await ProblemAssert.IsProblemAsync(include, HttpStatusCode.UnprocessableEntity);
        Assert.DoesNotContain("root:", problem.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preview_lists_missing_required_variables_and_warns_about_undeclared_ones()
    {
        using var client = await TenantClientAsync("Variables");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/v1/templates", new
        {
            key = "order",
            name = "Order",
            category = "transactional",
            channels = new[] { "sms" },
            variables = new object[] { new { name = "orderId", required = true }, new { name = "total", required = true } },
            variants = new[] { new { locale = "en", content = new { sms = new { text = "Order {{ orderId }}: {{ total }} {{ coupon }}" } } } },
        })).StatusCode);

        var missing = await client.PostAsJsonAsync("/v1/templates/order/preview", new { data = new { } });
        var problem = await ProblemAssert.IsProblemAsync(missing, HttpStatusCode.UnprocessableEntity);
        var names = problem.GetProperty("missingVariables").EnumerateArray().Select(v => v.GetString()).ToList();
        Assert.Equal(["orderId", "total"], names);

        var preview = await PreviewAsync(client, "order", new { data = new { orderId = "A-1", total = 12 } });
        Assert.Contains(preview.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("'coupon'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Publish_creates_versions_and_rollback_republishes_an_earlier_one()
    {
        using var client = await TenantClientAsync("Versions");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/v1/templates", WelcomeTemplate("welcome"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/templates/welcome/publish", null)).StatusCode);
        await ProblemAssert.IsProblemAsync(await client.PostAsync("/v1/templates/welcome/publish", null), HttpStatusCode.Conflict);

        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/v1/templates/welcome/draft", new
        {
            variables = new object[] { new { name = "user", required = true } },
            variants = new[] { Variant("en", "Howdy") },
        })).StatusCode);
        var data = new { user = new { name = "Bo" } };
        var stillV1 = await PreviewAsync(client, "welcome", new { data, version = 1 });
        Assert.Equal("Hello Bo", stillV1.GetProperty("messages").GetProperty("sms").GetProperty("text").GetString()!.Split(':')[0]);

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/templates/welcome/publish", null)).StatusCode);
        var versions = await client.GetFromJsonAsync<JsonElement>("/v1/templates/welcome/versions");
        Assert.Equal([2, 1], versions.GetProperty("items").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));
        Assert.True(versions.GetProperty("items")[0].GetProperty("isPublished").GetBoolean());

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/templates/welcome/versions/1/publish", null)).StatusCode);
        var template = await client.GetFromJsonAsync<JsonElement>("/v1/templates/welcome");
        Assert.Equal(1, template.GetProperty("publishedVersion").GetInt32());
        await ProblemAssert.IsProblemAsync(await client.PostAsync("/v1/templates/welcome/versions/9/publish", null), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Other_tenants_templates_are_invisible()
    {
        using var owner = await TenantClientAsync("Owner");
        using var stranger = await TenantClientAsync("Stranger");
        Assert.Equal(HttpStatusCode.Created, (await owner.PostAsJsonAsync("/v1/templates", WelcomeTemplate("secret-welcome"))).StatusCode);

        await ProblemAssert.IsProblemAsync(await stranger.GetAsync("/v1/templates/secret-welcome"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await stranger.PostAsync("/v1/templates/secret-welcome/publish", null), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await stranger.DeleteAsync("/v1/templates/secret-welcome"), HttpStatusCode.NotFound);
        var list = await stranger.GetFromJsonAsync<JsonElement>("/v1/templates");
        Assert.DoesNotContain(list.GetProperty("items").EnumerateArray(), t => t.GetProperty("key").GetString() == "secret-welcome");
    }

    [Fact]
    public async Task New_tenant_gets_published_system_templates_and_a_brand_named_after_it()
    {
        using var client = await TenantClientAsync("Seeded Co");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        JsonElement list;
        do
        {
            await Task.Delay(100, cts.Token);
            list = await client.GetFromJsonAsync<JsonElement>("/v1/templates?category=system", cts.Token);
        }
        while (list.GetProperty("items").GetArrayLength() < 2);

        Assert.All(list.GetProperty("items").EnumerateArray(), t =>
        {
            Assert.True(t.GetProperty("isSystem").GetBoolean());
            Assert.Equal(1, t.GetProperty("publishedVersion").GetInt32());
        });
        var brand = await client.GetFromJsonAsync<JsonElement>("/v1/brand");
        Assert.Equal("Seeded Co", brand.GetProperty("name").GetString());
    }
}
