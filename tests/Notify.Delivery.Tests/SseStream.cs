using System.Threading.Channels;

namespace Notify.Delivery.Tests;

/// <summary>One Server-Sent Event as a client sees it.</summary>
internal sealed record SseEvent(string? Id, string Event, string Data, DateTimeOffset ReceivedAt);

/// <summary>An open <c>GET /v1/inbox/stream</c>, read line by line in the background as a browser's EventSource would.</summary>
internal sealed class SseStream : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly HttpResponseMessage _response;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<SseEvent> _events = Channel.CreateUnbounded<SseEvent>();
    private readonly Task _reading;

    private SseStream(HttpClient client, HttpResponseMessage response)
    {
        _client = client;
        _response = response;
        _reading = ReadAsync();
    }

    public HttpResponseMessage Response => _response;

    public int Heartbeats { get; private set; }

    public static async Task<SseStream> OpenAsync(Uri api, string token, string? lastEventId = null)
    {
        var client = new HttpClient { BaseAddress = api, Timeout = Timeout.InfiniteTimeSpan };
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/inbox/stream?token={Uri.EscapeDataString(token)}");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return new SseStream(client, response);
    }

    /// <summary>The next event named <paramref name="name"/> (others are skipped), or a failed test after <paramref name="timeout"/>.</summary>
    public async Task<SseEvent> NextAsync(string name, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            SseEvent next;
            try
            {
                next = await _events.Reader.ReadAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No '{name}' event within {timeout}.");
            }

            if (next.Event == name)
            {
                return next;
            }
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            await using var body = await _response.Content.ReadAsStreamAsync(_stop.Token);
            using var reader = new StreamReader(body);
            string? id = null, name = null;
            var data = new List<string>();
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (data.Count > 0)
                    {
                        _events.Writer.TryWrite(new SseEvent(id, name ?? "message", string.Join('\n', data), DateTimeOffset.UtcNow));
                    }

                    id = name = null;
                    data.Clear();
                }
                else if (line.StartsWith(':'))
                {
                    Heartbeats++;
                }
                else if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    id = line[4..];
                }
                else if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line[7..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data.Add(line[6..]);
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        _client.Dispose();
        try
        {
            await _reading;
        }
        catch (Exception)
        {
            // Reading ends with the connection.
        }

        _stop.Dispose();
    }
}
