using System.Text.Json;

namespace Notify.EndToEnd.Tests;

internal static class NotificationPolling
{
    /// <summary>
    /// Polls <c>GET /v1/notifications/{id}</c> until <paramref name="done"/> holds (the Worker handles it asynchronously);
    /// fails the test with the last answer after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<JsonElement> UntilAsync(HttpClient client, Guid id, Func<JsonElement, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var details = await client.GetFromJsonAsync<JsonElement>($"/v1/notifications/{id}");
            if (done(details))
            {
                return details;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the notification did not get there in time: {details}");
            await Task.Delay(50);
        }
    }
}
