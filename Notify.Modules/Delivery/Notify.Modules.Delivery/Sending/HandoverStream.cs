namespace Notify.Modules.Delivery.Sending;

/// <summary>
/// The SMTP connection's byte stream, under MailKit, holding back the end of each message's data (the write that holds
/// the <c>CRLF.CRLF</c> terminator) until <see cref="BeforeEnd"/> has run. An SMTP server keeps a message only once
/// it has the terminator, so this is the one point where "not sent" turns into "sent": the sender records the hand-over
/// there (its COMMIT sent together with the end), and a Worker killed on either side of it neither loses the message
/// nor sends it twice (<see cref="EmailSender"/>).
/// </summary>
/// <remarks>
/// Dot-stuffing guarantees <c>CRLF.CRLF</c> never occurs inside message data, and no SMTP command contains it, so
/// seeing it in what the client writes is seeing the end of a message. CHUNKING (BDAT), which has no terminator, is
/// switched off on connections that use this stream; so is TLS negotiated by MailKit (STARTTLS), which would encrypt the
/// bytes before they pass here.
/// </remarks>
internal sealed class HandoverStream(Stream inner) : Stream
{
    private static readonly byte[] Terminator = "\r\n.\r\n"u8.ToArray();
    private int _matched;
    private byte[] _held = [];

    /// <summary>
    /// Called with the write that ends the message (the terminator's last byte in it): it records the hand-over and writes
    /// that write right after sending its COMMIT (<see cref="HandoverGroup"/>). False (the message is no longer
    /// this sender's to send) aborts the message: the end is never written and <see cref="HandoverRefusedException"/> is
    /// thrown.
    /// </summary>
    public HandOverWith? BeforeEnd { get; private set; }

    /// <summary>Whether the current message's terminator went out whole: from then on the server may have it.</summary>
    public bool EndWritten { get; private set; }

    /// <summary>Starts a new message: <paramref name="beforeEnd"/> guards its hand-over.</summary>
    public void Arm(HandOverWith beforeEnd)
    {
        BeforeEnd = beforeEnd;
        EndWritten = false;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var bytes = buffer;
        if (_held.Length > 0)
        {
            bytes = (byte[])[.. _held, .. buffer.Span];
        }

        var end = EndOfTerminator(buffer.Span);
        if (end >= 0 && BeforeEnd is { } beforeEnd)
        {
            // The write that ends the message goes out whole once the hand-over is sent: one send rather than the data and
            // then its last three bytes, and the same single write after the COMMIT either way.
            _held = [];
            BeforeEnd = null;
            if (!await beforeEnd(() =>
                {
                    // Synchronous: written the moment the COMMIT has gone out, by whichever thread sent it.
                    inner.Write(bytes.Span);
                    EndWritten = true;
                }))
            {
                throw new HandoverRefusedException();
            }

            return;
        }

        // A write ending in CRLF "." (or CRLF "." CR) may be the start of the terminator: the dot waits for the next write.
        var hold = end < 0 && _matched >= 3 ? _matched - 2 : 0;
        _held = bytes[^hold..].ToArray();
        await inner.WriteAsync(bytes[..^hold], cancellationToken);
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_held.Length > 0)
        {
            await inner.WriteAsync(_held, cancellationToken);
            _held = [];
        }

        await inner.FlushAsync(cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>The sender only uses MailKit's asynchronous API; a synchronous write would block on the hand-over.</summary>
    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>The index of the terminator's last byte in <paramref name="bytes"/> (it may have begun in an earlier write), or -1.</summary>
    private int EndOfTerminator(ReadOnlySpan<byte> bytes)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            _matched = bytes[i] == Terminator[_matched] ? _matched + 1 : bytes[i] == Terminator[0] ? 1 : 0;
            if (_matched == Terminator.Length)
            {
                _matched = 0;
                return i;
            }
        }

        return -1;
    }

    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => false;
    public override bool CanWrite => inner.CanWrite;
    public override bool CanTimeout => inner.CanTimeout;

    public override int ReadTimeout
    {
        get => inner.ReadTimeout;
        set => inner.ReadTimeout = value;
    }

    public override int WriteTimeout
    {
        get => inner.WriteTimeout;
        set => inner.WriteTimeout = value;
    }

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// Records a message's hand-over and calls <c>writeEnd</c> (which writes its last bytes) right after sending the COMMIT;
/// false, without calling it, when the message is no longer the sender's to send.
/// </summary>
internal delegate Task<bool> HandOverWith(Action writeEnd);

/// <summary>The message was no longer the sender's to send (cancelled, or claimed by another sender) when it was about to go out; it did not.</summary>
internal sealed class HandoverRefusedException() : Exception("The delivery was no longer this sender's to send; the message was not completed.");
