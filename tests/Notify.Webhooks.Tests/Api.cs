using System.Text.Json;

namespace Notify.Webhooks.Tests;

/// <summary>Calls of the webhooks API the tests repeat.</summary>
internal static class Api
{
    public static async Task<(Guid Id, string Secret)> CreateWebhookAsync(this HttpClient client, string url, params string[] eventTypes)
    {
        var response = await client.PostAsJsonAsync("/v1/webhooks", new { url, eventTypes = eventTypes.Length == 0 ? ["*"] : eventTypes });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("webhook").GetProperty("id").GetGuid(), body.GetProperty("secret").GetString()!);
    }

    public static async Task<JsonElement> GetJsonAsync(this HttpClient client, string path)
    {
        var response = await client.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static async Task<List<JsonElement>> AttemptsAsync(this HttpClient client, Guid webhookId) =>
        (await client.GetJsonAsync($"/v1/webhooks/{webhookId}/attempts?limit=200")).GetProperty("items").EnumerateArray().Reverse().ToList();

    public static async Task<JsonElement> SendTestAsync(this HttpClient client, Guid webhookId)
    {
        var response = await client.PostAsync($"/v1/webhooks/{webhookId}/test", null);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Asserts an RFC 9457 problem details answer with the given status; returns its body.</summary>
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.True(response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        return body;
    }

    public static Task WaitUntilAsync(Func<Task<bool>> condition, int seconds = 15) =>
        Notify.Testing.Eventually.WaitUntilAsync(condition, TimeSpan.FromSeconds(seconds));
}
