using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Notify.Benchmarks.Delivery;

/// <summary>
/// A minimal SMTP server on loopback that accepts every message with 250 and counts it; fast enough not to be the
/// bottleneck (smtp4dev stores and indexes every message). Speaks what MailKit uses: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
/// </summary>
internal sealed class SmtpSink : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private long _count;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public long Count => Interlocked.Read(ref _count);

    public static SmtpSink Start()
    {
        var sink = new SmtpSink();
        sink._listener.Start(512);
        _ = Task.Run(sink.AcceptLoopAsync);
        return sink;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = Task.Run(() => ServeAsync(client));
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        client.NoDelay = true;
        try
        {
            await using var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.Latin1);
            await using var writer = new StreamWriter(stream, Encoding.Latin1) { NewLine = "\r\n" };
            await writer.WriteLineAsync("220 sink ESMTP");
            await writer.FlushAsync();
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                var verb = line.Length >= 4 ? line[..4].ToUpperInvariant() : line.ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteLineAsync("250-sink");
                        await writer.WriteLineAsync("250-PIPELINING");
                        await writer.WriteLineAsync("250 8BITMIME");
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("354 go ahead");
                        await writer.FlushAsync();
                        while (await reader.ReadLineAsync(_stop.Token) is { } data && data != ".")
                        {
                        }

                        Interlocked.Increment(ref _count);
                        await writer.WriteLineAsync("250 2.0.0 queued");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 bye");
                        await writer.FlushAsync();
                        return;
                    default:
                        await writer.WriteLineAsync("250 OK");
                        break;
                }

                await writer.FlushAsync();
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }
}
