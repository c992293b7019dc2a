using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Notify.Modules.Delivery.Sending;

/// <summary>The SMTP server email goes to, from the <c>smtp</c> connection string (<c>smtp://host:port</c>).</summary>
internal sealed record SmtpServer(string Host, int Port)
{
    public static SmtpServer Parse(string connectionString)
    {
        var uri = new Uri(connectionString);
        return new SmtpServer(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 25 : uri.Port);
    }
}

/// <summary>
/// One reused connection to the SMTP server, over a <see cref="HandoverStream"/> so the sender can record each
/// message's hand-over right before the server can have it.
/// </summary>
internal sealed class SmtpConnection(SmtpServer server) : IDisposable
{
    private readonly SmtpClient _client = new();
    private HandoverStream? _stream;

    public bool IsConnected => _client.IsConnected;

    /// <summary>Whether the last message's data went out whole, so the server may have it even without an answer.</summary>
    public bool EndWritten => _stream?.EndWritten ?? false;

    /// <summary>
    /// Sends <paramref name="message"/>, connecting first if needed; <paramref name="beforeEnd"/> runs right before the
    /// server can have it and may refuse (<see cref="HandoverRefusedException"/>). A reused connection the server dropped
    /// while idle fails before any data went out; that is retried once on a fresh connection rather than counted as a
    /// failed attempt.
    /// </summary>
    public async Task SendAsync(MimeMessage message, HandOverWith beforeEnd, CancellationToken ct)
    {
        var reused = IsConnected;
        if (!reused)
        {
            await ConnectAsync(ct);
        }

        try
        {
            _stream!.Arm(beforeEnd);
            await _client.SendAsync(message, ct);
        }
        catch (Exception ex) when (reused && !EndWritten && ex is ServiceNotConnectedException or IOException or SmtpProtocolException)
        {
            await DisconnectAsync();
            await ConnectAsync(ct);
            _stream!.Arm(beforeEnd);
            await _client.SendAsync(message, ct);
        }
    }

    private async Task ConnectAsync(CancellationToken ct)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(server.Host, server.Port, ct);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _stream = new HandoverStream(new NetworkStream(socket, ownsSocket: true));
        try
        {
            await _client.ConnectAsync(_stream, server.Host, server.Port, SecureSocketOptions.None, ct);
        }
        catch
        {
            await DisconnectAsync();
            throw;
        }

        // BDAT has no terminator for the hand-over to hold back; plain DATA it is.
        _client.Capabilities &= ~(SmtpCapabilities.Chunking | SmtpCapabilities.BinaryMime);
    }

    /// <summary>Closes the connection (politely, briefly); the next send connects afresh.</summary>
    public async Task DisconnectAsync()
    {
        try
        {
            if (_client.IsConnected)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _client.DisconnectAsync(true, timeout.Token);
            }
        }
        catch (Exception)
        {
            // Already broken; the next send connects afresh.
        }
        finally
        {
            _stream?.Dispose();
            _stream = null;
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _stream?.Dispose();
    }
}
