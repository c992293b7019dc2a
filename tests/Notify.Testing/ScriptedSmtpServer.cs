using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Notify.Testing;

/// <summary>
/// A minimal real SMTP server on loopback whose answer to RCPT TO a test sets (refusing for a while, or for good),
/// keeping the raw messages it accepts.
/// </summary>
public sealed class ScriptedSmtpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Queue<string> _nextRcptReplies = new();
    private int _rcptCount;

    public ScriptedSmtpServer()
    {
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The <c>smtp://</c> connection string hosts use for it.</summary>
    public string ConnectionString => $"smtp://127.0.0.1:{Port}";

    /// <summary>The answer to RCPT TO once the replies queued by <see cref="RefuseNext"/> are used up.</summary>
    public string RcptReply { get; set; } = "250 OK";

    /// <summary>When set, the server reads a message's data and closes the connection without answering it.</summary>
    public bool DropAfterData { get; set; }

    /// <summary>The answer to the end of a message's data; a message is kept only when it starts with 2.</summary>
    public string DataReply { get; set; } = "250 Queued";

    /// <summary>Runs when a DATA command arrives, before the server answers it (while the client waits mid-send).</summary>
    public Func<Task>? OnData { get; set; }

    public List<string> Messages { get; } = [];

    /// <summary>How many RCPT TO commands it answered (each is one try of a send).</summary>
    public int RcptCount => Volatile.Read(ref _rcptCount);

    /// <summary>Answers the next <paramref name="count"/> RCPT TO commands with <paramref name="reply"/>, then <see cref="RcptReply"/> again.</summary>
    public void RefuseNext(int count, string reply)
    {
        lock (_nextRcptReplies)
        {
            for (var i = 0; i < count; i++)
            {
                _nextRcptReplies.Enqueue(reply);
            }
        }
    }

    /// <summary>Back to accepting everything, with no refusals queued (counts and messages are kept).</summary>
    public void Reset()
    {
        lock (_nextRcptReplies)
        {
            _nextRcptReplies.Clear();
        }

        RcptReply = "250 OK";
        DataReply = "250 Queued";
        DropAfterData = false;
        OnData = null;
    }

    public IReadOnlyList<string> Received()
    {
        lock (Messages)
        {
            return Messages.ToList();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    private string NextRcptReply()
    {
        Interlocked.Increment(ref _rcptCount);
        lock (_nextRcptReplies)
        {
            return _nextRcptReplies.TryDequeue(out var reply) ? reply : RcptReply;
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        await using var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        await using var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
        try
        {
            await writer.WriteLineAsync("220 scripted ESMTP");
            while (await reader.ReadLineAsync() is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO" or "HELO":
                        await writer.WriteLineAsync("250 scripted");
                        break;
                    case "RCPT":
                        await writer.WriteLineAsync(NextRcptReply());
                        break;
                    case "DATA":
                        if (OnData is { } onData)
                        {
                            await onData();
                        }

                        await writer.WriteLineAsync("354 Go ahead");
                        var message = new StringBuilder();
                        string? data;
                        while ((data = await reader.ReadLineAsync()) is not null && data != ".")
                        {
                            message.Append(data).Append("\r\n");
                        }

                        if (data is null)
                        {
                            // The client went away before the end of the data: like any server, drop the message.
                            return;
                        }

                        if (DataReply.StartsWith('2'))
                        {
                            lock (Messages)
                            {
                                Messages.Add(message.ToString());
                            }
                        }

                        if (DropAfterData)
                        {
                            return;
                        }

                        await writer.WriteLineAsync(DataReply);
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 Bye");
                        return;
                    default: // MAIL, RSET, NOOP
                        await writer.WriteLineAsync("250 OK");
                        break;
                }
            }
        }
        catch (IOException)
        {
            // The client went away.
        }
    }
}
