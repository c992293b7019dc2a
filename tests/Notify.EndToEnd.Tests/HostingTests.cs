using System.Text.Json;

namespace Notify.EndToEnd.Tests;

[Collection(NotifyAppCollection.Name)]
public sealed class HostingTests(NotifyApp notify)
{
    [Fact]
    public async Task Api_and_worker_report_healthy_including_their_infrastructure_checks()
    {
        using var http = new HttpClient();
        foreach (var resource in new[] { "api", "worker" })
        {
            var response = await http.GetAsync(new Uri(notify.App.GetEndpoint(resource, "http"), "/health"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Openapi_document_lists_the_access_routes()
    {
        using var client = notify.Client();
        var document = await client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "/v1/tenants", "/v1/tenants/{id}", "/v1/api-keys", "/v1/api-keys/{id}", "/v1/audit-log" }, paths);

        var reference = await client.GetAsync("/reference/");
        Assert.Equal(HttpStatusCode.OK, reference.StatusCode);
        Assert.Contains("swagger/v1/swagger.json", await reference.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_json_gets_a_400_problem_details_body()
    {
        using var client = notify.Client(notify.BootstrapKey);
        using var content = new StringContent("{\"name\": ", System.Text.Encoding.UTF8, "application/json");
        var response = await client.PostAsync("/v1/api-keys", content);
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("JSON", problem.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("https://notify.dev/problems/validation", problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Unknown_route_gets_a_404_problem_details_body()
    {
        using var client = notify.Client(notify.BootstrapKey);
        await ProblemAssert.IsProblemAsync(await client.GetAsync("/v1/no-such-thing"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Invalid_request_gets_field_level_validation_errors()
    {
        using var client = notify.Client(notify.BootstrapKey);
        var response = await client.PostAsJsonAsync("/v1/api-keys", new { name = "", scopes = new[] { "root" } });
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        var fields = problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToList();
        Assert.Contains("name", fields);
        Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetProperty("reason").GetString()!.Contains("Unknown scope 'root'", StringComparison.Ordinal));
    }
}
