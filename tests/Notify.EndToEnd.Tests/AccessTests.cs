using System.Text.Json;

namespace Notify.EndToEnd.Tests;

[Collection(NotifyAppCollection.Name)]
public sealed class AccessTests(NotifyApp notify)
{
    [Fact]
    public async Task Bootstrap_key_is_a_working_system_admin_key()
    {
        using var client = notify.Client(notify.BootstrapKey);
        var keys = await client.GetFromJsonAsync<JsonElement>("/v1/api-keys");
        Assert.Contains(keys.GetProperty("items").EnumerateArray(), k => k.GetProperty("name").GetString() == "Bootstrap admin key");
    }

    [Fact]
    public async Task Request_without_key_or_with_unknown_key_gets_401()
    {
        using var anonymous = notify.Client();
        var body = await ProblemAssert.IsProblemAsync(await anonymous.GetAsync("/v1/api-keys"), HttpStatusCode.Unauthorized);
        Assert.Contains("Bearer", body.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var wrong = notify.Client("ntf_not-a-real-key");
        await ProblemAssert.IsProblemAsync(await wrong.GetAsync("/v1/api-keys"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Key_with_only_templates_write_gets_403_on_api_keys()
    {
        var (_, adminKey) = await notify.CreateTenantAsync("Scoped");
        var (_, templatesKey) = await notify.CreateKeyAsync(adminKey, "templates:write");

        using var client = notify.Client(templatesKey);
        var body = await ProblemAssert.IsProblemAsync(await client.GetAsync("/v1/api-keys"), HttpStatusCode.Forbidden);
        Assert.Contains("admin", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tenant_admin_cannot_create_tenants()
    {
        var (_, adminKey) = await notify.CreateTenantAsync("Not the system");
        using var client = notify.Client(adminKey);
        await ProblemAssert.IsProblemAsync(await client.PostAsJsonAsync("/v1/tenants", new { name = "Sneaky" }), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Revoked_key_gets_401_on_its_next_request_and_the_revocation_is_audited()
    {
        var (_, adminKey) = await notify.CreateTenantAsync("Revoking");
        var (keyId, key) = await notify.CreateKeyAsync(adminKey, "admin");
        using var client = notify.Client(key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/api-keys")).StatusCode);

        using var admin = notify.Client(adminKey);
        admin.DefaultRequestHeaders.UserAgent.ParseAdd("notify-e2e/1.0");
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/v1/api-keys/{keyId}")).StatusCode);

        await ProblemAssert.IsProblemAsync(await client.GetAsync("/v1/api-keys"), HttpStatusCode.Unauthorized);

        var audit = await admin.GetFromJsonAsync<JsonElement>("/v1/audit-log?action=api_key.revoked");
        var entry = Assert.Single(audit.GetProperty("items").EnumerateArray());
        Assert.Equal(keyId.ToString(), entry.GetProperty("resourceId").GetString());
        Assert.Equal("notify-e2e/1.0", entry.GetProperty("userAgent").GetString());
        Assert.False(string.IsNullOrEmpty(entry.GetProperty("ipAddress").GetString()));
    }

    [Fact]
    public async Task Tenant_a_cannot_see_or_revoke_tenant_b_keys()
    {
        var (_, keyA) = await notify.CreateTenantAsync("Tenant A");
        var (_, keyB) = await notify.CreateTenantAsync("Tenant B");
        var (bKeyId, _) = await notify.CreateKeyAsync(keyB, "notifications:send");

        using var clientA = notify.Client(keyA);
        var listA = await clientA.GetFromJsonAsync<JsonElement>("/v1/api-keys");
        var idsA = listA.GetProperty("items").EnumerateArray().Select(k => k.GetProperty("id").GetGuid()).ToList();
        Assert.NotEmpty(idsA);
        Assert.DoesNotContain(bKeyId, idsA);

        await ProblemAssert.IsProblemAsync(await clientA.DeleteAsync($"/v1/api-keys/{bKeyId}"), HttpStatusCode.NotFound);

        using var clientB = notify.Client(keyB);
        var listB = await clientB.GetFromJsonAsync<JsonElement>("/v1/api-keys");
        Assert.Contains(listB.GetProperty("items").EnumerateArray(), k => k.GetProperty("id").GetGuid() == bKeyId);
    }

    [Fact]
    public async Task Key_list_pages_with_a_cursor()
    {
        var (_, adminKey) = await notify.CreateTenantAsync("Paging");
        for (var i = 0; i < 3; i++)
        {
            await notify.CreateKeyAsync(adminKey, "notifications:read");
        }

        using var client = notify.Client(adminKey);
        var first = await client.GetFromJsonAsync<JsonElement>("/v1/api-keys?limit=2");
        Assert.Equal(2, first.GetProperty("items").GetArrayLength());
        var cursor = first.GetProperty("nextCursor").GetString();
        Assert.NotNull(cursor);
        var second = await client.GetFromJsonAsync<JsonElement>($"/v1/api-keys?limit=2&cursor={cursor}");
        Assert.Equal(2, second.GetProperty("items").GetArrayLength()); // 4 keys: the initial admin key + 3
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);
        var all = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray()).Select(k => k.GetProperty("id").GetGuid());
        Assert.Equal(4, all.Distinct().Count());
    }

    [Fact]
    public async Task Requests_over_the_tenant_rate_limit_get_429_with_retry_after()
    {
        var (_, adminKey) = await notify.CreateTenantAsync("Limited", rateLimitPerMinute: 3);
        using var client = notify.Client(adminKey);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/api-keys")).StatusCode);
        }

        var limited = await client.GetAsync("/v1/api-keys");
        await ProblemAssert.IsProblemAsync(limited, HttpStatusCode.TooManyRequests);
        var retryAfter = int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);
    }

    [Fact]
    public async Task New_tenant_is_provisioned_by_the_worker_through_outbox_and_broker()
    {
        var (tenantId, _) = await notify.CreateTenantAsync("Provisioned");
        using var admin = notify.Client(notify.BootstrapKey);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        JsonElement tenant;
        do
        {
            await Task.Delay(100, cts.Token);
            tenant = await admin.GetFromJsonAsync<JsonElement>($"/v1/tenants/{tenantId}", cts.Token);
        }
        while (tenant.GetProperty("provisionedAt").ValueKind == JsonValueKind.Null);

        Assert.True(tenant.GetProperty("provisionedAt").GetDateTimeOffset() >= tenant.GetProperty("createdAt").GetDateTimeOffset());
    }
}
