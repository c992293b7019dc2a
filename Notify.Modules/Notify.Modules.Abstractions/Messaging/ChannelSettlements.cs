namespace Notify.Modules.Abstractions.Messaging;

/// <summary>
/// Settles one consumer channel's messages with as few acknowledgements as possible: a handled message's ack waits until
/// every message delivered before it on the channel is settled too, then one ack with <c>multiple</c> set covers them
/// all. A quorum queue records every ack it receives in its Raft log, so one per message cost the broker as much as the
/// message itself; handler loops finish out of order, hence the wait for the contiguous run. A rejection (nack) goes
/// out at once, on its own.
/// </summary>
/// <param name="ackUpTo">Sends an ack with <c>multiple</c> set for a delivery tag: it settles every outstanding tag up to it.</param>
/// <param name="nack">Sends a nack of one delivery tag, requeueing it or not.</param>
internal sealed class ChannelSettlements(Func<ulong, Task> ackUpTo, Func<ulong, bool, Task> nack)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly HashSet<ulong> _handled = [];
    private readonly HashSet<ulong> _rejected = [];

    /// <summary>Every delivery tag up to this one is settled with the broker (tags start at 1 on a channel).</summary>
    private ulong _settledUpTo;

    /// <summary>Acknowledges <paramref name="tags"/> once everything delivered before them is settled.</summary>
    public async Task AckAsync(IEnumerable<ulong> tags)
    {
        await _gate.WaitAsync();
        try
        {
            _handled.UnionWith(tags);
            await FlushAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Rejects <paramref name="tag"/> right away (dead-lettered, or requeued), then acknowledges what it held up.</summary>
    public async Task NackAsync(ulong tag, bool requeue)
    {
        await _gate.WaitAsync();
        try
        {
            await nack(tag, requeue);
            _rejected.Add(tag);
            await FlushAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Acks the contiguous run of settled tags after <see cref="_settledUpTo"/>, with one multiple ack up to its last handled tag.</summary>
    private async Task FlushAsync()
    {
        var upTo = _settledUpTo;
        ulong lastHandled = 0;
        while (true)
        {
            if (_handled.Remove(upTo + 1))
            {
                lastHandled = ++upTo;
            }
            else if (_rejected.Remove(upTo + 1))
            {
                ++upTo;
            }
            else
            {
                break;
            }
        }

        // A multiple ack settles every outstanding tag up to its own; the rejected ones in the run are no longer outstanding.
        if (lastHandled > 0)
        {
            await ackUpTo(lastHandled);
        }

        _settledUpTo = upTo;
    }
}
