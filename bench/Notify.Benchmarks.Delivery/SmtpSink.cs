using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Notify.Benchmarks.Delivery;

/// <summary>
/// A minimal SMTP server on loopback that accepts every message with 250 and counts it; fast enough not to be the
/// bottleneck (smtp4dev stores and indexes every message, and a real relay runs on its own machine). It reads blocks,
/// not lines, answers pipelined commands with one write, and only scans a message's data for its end. Speaks what
/// MailKit uses: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
/// </summary>
internal sealed class SmtpSink : IAsyncDisposable
{
    private static readonly byte[] Greeting = Encoding.ASCII.GetBytes("220 sink ESMTP\r\n");
    private static readonly byte[] Capabilities = Encoding.ASCII.GetBytes("250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
    private static readonly byte[] GoAhead = Encoding.ASCII.GetBytes("354 go ahead\r\n");
    private static readonly byte[] Queued = Encoding.ASCII.GetBytes("250 2.0.0 queued\r\n");
    private static readonly byte[] Bye = Encoding.ASCII.GetBytes("221 bye\r\n");
    private static readonly byte[] Ok = Encoding.ASCII.GetBytes("250 OK\r\n");

    /// <summary>The end of a message's data: a line holding a single dot.</summary>
    private static readonly byte[] DataEnd = "\r\n.\r\n"u8.ToArray();

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
            await stream.WriteAsync(Greeting, _stop.Token);
            var buffer = new byte[64 * 1024];
            var replies = new MemoryStream();
            var filled = 0;
            // In a message's data: how much of DataEnd the bytes so far end with. DATA's own CRLF counts as the first two.
            var matched = -1;
            while (true)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(filled), _stop.Token);
                if (read == 0)
                {
                    return;
                }

                filled += read;
                var start = 0;
                var quit = false;
                while (start < filled && !quit)
                {
                    if (matched >= 0)
                    {
                        // Data: only its end matters.
                        var end = ScanData(buffer.AsSpan(start, filled - start), ref matched);
                        if (end < 0)
                        {
                            start = filled;
                            break;
                        }

                        start += end;
                        matched = -1;
                        Interlocked.Increment(ref _count);
                        replies.Write(Queued);
                        continue;
                    }

                    var newline = buffer.AsSpan(start, filled - start).IndexOf("\r\n"u8);
                    if (newline < 0)
                    {
                        break;
                    }

                    var verb = Encoding.ASCII.GetString(buffer, start, Math.Min(4, newline)).ToUpperInvariant();
                    start += newline + 2;
                    switch (verb)
                    {
                        case "EHLO":
                            replies.Write(Capabilities);
                            break;
                        case "DATA":
                            replies.Write(GoAhead);
                            matched = 2;
                            break;
                        case "QUIT":
                            replies.Write(Bye);
                            quit = true;
                            break;
                        default:
                            replies.Write(Ok);
                            break;
                    }
                }

                // Keeps an unfinished command line for the next read.
                buffer.AsSpan(start, filled - start).CopyTo(buffer);
                filled -= start;
                if (replies.Length > 0)
                {
                    await stream.WriteAsync(replies.GetBuffer().AsMemory(0, (int)replies.Length), _stop.Token);
                    replies.SetLength(0);
                }

                if (quit)
                {
                    return;
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// Where the data's end finishes in <paramref name="data"/> (the index after it), or -1 when it does not end there;
    /// <paramref name="matched"/> carries a partly seen end over to the next block.
    /// </summary>
    private static int ScanData(ReadOnlySpan<byte> data, ref int matched)
    {
        for (var i = 0; i < data.Length; i++)
        {
            var b = data[i];
            if (b == DataEnd[matched])
            {
                if (++matched == DataEnd.Length)
                {
                    return i + 1;
                }
            }
            else
            {
                // Every proper prefix of CRLF.CRLF that a mismatch can fall back to starts with CR.
                matched = b == '\r' ? 1 : 0;
            }
        }

        return -1;
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }
}
