using Notify.Modules.Abstractions.Messaging;

namespace Notify.Abstractions.Tests.Messaging;

/// <summary>How a consumer channel's messages are settled with the broker when its handler loops finish out of order.</summary>
public sealed class ChannelSettlementsTests
{
    private readonly List<string> _sent = [];
    private readonly ChannelSettlements _settlements;

    public ChannelSettlementsTests() => _settlements = new ChannelSettlements(
        tag =>
        {
            _sent.Add($"ack up to {tag}");
            return Task.CompletedTask;
        },
        (tag, requeue) =>
        {
            _sent.Add($"nack {tag}{(requeue ? " requeue" : "")}");
            return Task.CompletedTask;
        });

    [Fact]
    public async Task Handled_messages_are_acked_together_once_everything_delivered_before_them_is_settled()
    {
        await _settlements.AckAsync([4, 5, 6]);
        Assert.Empty(_sent); // 1 to 3 are still being handled

        await _settlements.AckAsync([1, 2, 3]);
        Assert.Equal(["ack up to 6"], _sent);

        await _settlements.AckAsync([7]);
        Assert.Equal(["ack up to 6", "ack up to 7"], _sent);
    }

    [Fact]
    public async Task A_rejection_goes_out_at_once_and_lets_the_acks_it_held_up_follow_without_acking_it()
    {
        await _settlements.AckAsync([2, 3]);
        await _settlements.NackAsync(1, requeue: true);
        Assert.Equal(["nack 1 requeue", "ack up to 3"], _sent);

        // A run ending in a rejection acks up to its last handled message only.
        await _settlements.AckAsync([4]);
        await _settlements.NackAsync(5, requeue: false);
        await _settlements.NackAsync(6, requeue: false);
        Assert.Equal(["nack 1 requeue", "ack up to 3", "ack up to 4", "nack 5", "nack 6"], _sent);

        await _settlements.AckAsync([7]);
        Assert.Equal("ack up to 7", _sent[^1]);
    }
}
