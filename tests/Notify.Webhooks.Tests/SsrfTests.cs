using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Security;
using Notify.Modules.Webhooks.Domain;
using Notify.Testing;

namespace Notify.Webhooks.Tests;

/// <summary>With SSRF protection on (the default), webhooks never reach internal addresses: refused when saved and when sent.</summary>
public sealed class SsrfTests(Infrastructure infrastructure) : WebhookTestBase(infrastructure)
{
    private static readonly Dictionary<string, string?> Protected = NotifyHosts.FastWebhooks(("AllowPrivateAddresses", "false"));

    internal override Dictionary<string, string?> ApiSettings => Protected;

    internal override Dictionary<string, string?>? WorkerSettings => Protected;

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://localhost/hook")]
    [InlineData("https://10.1.2.3/hook")]
    [InlineData("https://192.168.0.10/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://[::ffff:127.0.0.1]/hook")]
    [InlineData("http://[fd00:ec2::254]/latest/meta-data/")]
    [InlineData("http://2130706433/hook")]
    [InlineData("http://0x7f.1/hook")]
    public async Task A_URL_pointing_at_a_private_address_is_refused_with_422(string url)
    {
        using var client = Hosts.Client();
        var response = await client.PostAsJsonAsync("/v1/webhooks", new { url, eventTypes = new[] { "*" } });

        var problem = await Api.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.Contains("SSRF", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("url", problem.GetProperty("errors")[0].GetProperty("name").GetString());
        Assert.False(await Hosts.QueryAsync(db => db.Endpoints.AnyAsync(e => e.Url == url)));
    }

    [Fact]
    public async Task Changing_the_URL_to_a_private_address_is_refused_too()
    {
        using var client = Hosts.Client();
        // 93.184.215.14 is a public literal: saved without a DNS lookup, never sent to in this test.
        var (id, _) = await client.CreateWebhookAsync("https://93.184.215.14/hook", "*");
        var response = await client.PatchAsJsonAsync($"/v1/webhooks/{id}", new { url = "http://172.16.5.5/hook" });
        await Api.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.Equal("https://93.184.215.14/hook", (await client.GetJsonAsync($"/v1/webhooks/{id}")).GetProperty("url").GetString());
    }

    [Fact]
    public async Task Sending_checks_the_address_again_so_a_URL_that_now_resolves_privately_is_not_called()
    {
        // An endpoint saved when its host was public and whose DNS now points inside (here: written directly).
        var tenantId = Guid.CreateVersion7();
        var endpointId = Guid.CreateVersion7();
        var url = Receiver.Url("internal").Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        await Hosts.QueryAsync(async db =>
        {
            var now = DateTimeOffset.UtcNow;
            db.Endpoints.Add(new WebhookEndpoint
            {
                Id = endpointId, TenantId = tenantId, Url = url, EventTypes = ["*"], Secret = WebhookSigner.NewSecret(), CreatedAt = now, UpdatedAt = now,
            });
            var ev = new WebhookEvent { Id = Guid.CreateVersion7(), TenantId = tenantId, Type = "webhook.test", Payload = """{"type":"webhook.test","data":{}}""", CreatedAt = now };
            db.Events.Add(ev);
            db.Deliveries.Add(WebhookDelivery.Due(Guid.CreateVersion7(), tenantId, endpointId, ev.Id, now));
            return await db.SaveChangesAsync();
        });

        await Api.WaitUntilAsync(() => Hosts.QueryAsync(db => db.Attempts.AnyAsync(a => a.EndpointId == endpointId)));
        var attempt = await Hosts.QueryAsync(db => db.Attempts.SingleAsync(a => a.EndpointId == endpointId));
        Assert.False(attempt.Succeeded);
        Assert.Null(attempt.StatusCode);
        Assert.Contains("SSRF", attempt.Error, StringComparison.Ordinal);
        Assert.Empty(Receiver.Received("internal"));
    }
}
