using System.Data;
using Notify.Modules.Delivery.Domain;
using Npgsql;

namespace Notify.Modules.Delivery.Sending;

/// <summary>
/// Hands over the messages of all of a sender's SMTP connections that reach the end of their data at about the same
/// time together: one transaction marks them all (<see cref="ChannelDelivery.HandedOverAt"/>), its COMMIT is sent, and
/// each message's end is written right after it, back to back on one thread. That is the single hand-over of
/// <see cref="SendingStore.BeginHandOverAsync"/> — mark, COMMIT sent, end written, COMMIT awaited — done for a group, so a
/// message costs the database two round trips per group instead of two of its own: with many connections those round
/// trips, not the work in them, were most of what an email cost. A Worker killed before the COMMIT leaves the group
/// unmarked and unsent; after it, each message is sent or, if the kill fell between two of the writes, marked but not
/// sent — the same few-microsecond window per message as one at a time.
/// </summary>
/// <remarks>
/// Group commit without a timer: the first message to arrive while no group is being handed over starts one; those
/// arriving meanwhile form the next. Groups go one at a time, over one connection kept open for them: renting it from the
/// pool for every group cost a session reset (seven statements) per group.
/// </remarks>
internal sealed class HandoverGroup(NpgsqlDataSource dataSource, TimeProvider clock) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private List<Request> _waiting = [];
    private bool _running;
    private NpgsqlConnection? _connection;

    /// <summary>
    /// Marks <paramref name="delivery"/> handed over and, right after the COMMIT is sent, calls
    /// <paramref name="writeEnd"/> (which writes the message's last bytes, synchronously). False, and
    /// <paramref name="writeEnd"/> never called, when the delivery is no longer this claim's (cancelled, or reclaimed
    /// after its lease ran out). Throws what writing the end or committing threw.
    /// </summary>
    public Task<bool> HandOverAsync(ClaimedDelivery delivery, Action writeEnd)
    {
        var request = new Request(delivery, writeEnd);
        lock (_gate)
        {
            _waiting.Add(request);
            if (_running)
            {
                return request.Done.Task;
            }

            _running = true;
        }

        _ = Task.Run(HandOverWaitingAsync);
        return request.Done.Task;
    }

    private async Task HandOverWaitingAsync()
    {
        while (true)
        {
            List<Request> group;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _running = false;
                    return;
                }

                group = _waiting;
                _waiting = [];
            }

            try
            {
                await HandOverTogetherAsync(group);
            }
            catch (Exception ex)
            {
                // Before any end went out (the mark failed): nothing was sent, each sender treats it as a failed try.
                foreach (var request in group)
                {
                    request.Done.TrySetException(ex);
                }
            }
        }
    }

    /// <summary>One group's hand-over: the runner above calls it with whatever arrived meanwhile; tests, with a group of their choosing.</summary>
    internal async Task HandOverTogetherAsync(IReadOnlyList<Request> group)
    {
        try
        {
            if (_connection is not { State: ConnectionState.Open })
            {
                await DisposeAsync();
                _connection = await dataSource.OpenConnectionAsync();
            }

            await HandOverTogetherAsync(group, _connection);
        }
        catch
        {
            // The connection may be broken: the next group opens another.
            await DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync();
        }
    }

    /// <summary>Marks the group's deliveries that are still queued under the claim that asked (id and lease) handed over.</summary>
    internal static readonly string MarkSql = $"""
        UPDATE delivery.deliveries d SET handed_over_at = @now
        FROM unnest(@ids, @createdAts, @leasedUntils) AS i(id, created_at, leased_until)
        WHERE d.id = i.id AND d.created_at = i.created_at AND {DeliveryStatus.StillQueuedSql("d")} AND d.leased_until = i.leased_until
        RETURNING d.id, d.leased_until
        """;

    private async Task HandOverTogetherAsync(IReadOnlyList<Request> group, NpgsqlConnection connection)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        // A request is matched by its claim (id and lease), not by id alone: a delivery whose lease ran out may be in the
        // group twice, from the sender that lost it and from the one that claimed it again, and only the latter may send.
        var ours = new HashSet<(Guid Id, DateTimeOffset LeasedUntil)>();
        await using (var command = new NpgsqlCommand(MarkSql, connection, transaction))
        {
            command.Parameters.AddWithValue("now", clock.GetUtcNow());
            command.Parameters.AddWithValue("ids", group.Select(r => r.Delivery.Id).ToArray());
            command.Parameters.AddWithValue("createdAts", group.Select(r => r.Delivery.CreatedAt).ToArray());
            command.Parameters.AddWithValue("leasedUntils", group.Select(r => r.Delivery.LeasedUntil).ToArray());
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                ours.Add((reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1)));
            }
        }

        var handedOver = new List<Request>(group.Count);
        foreach (var request in group)
        {
            if (ours.Contains((request.Delivery.Id, request.Delivery.LeasedUntil)))
            {
                handedOver.Add(request);
            }
            else
            {
                request.Done.TrySetResult(false);
            }
        }

        if (handedOver.Count == 0)
        {
            return;
        }

        // Npgsql has written the COMMIT when this returns (only its answer is awaited): the ends follow at once.
        var committing = transaction.CommitAsync();
        foreach (var request in handedOver)
        {
            try
            {
                request.WriteEnd();
            }
            catch (Exception ex)
            {
                request.EndFailure = ex;
            }
        }

        Exception? commitFailure = null;
        try
        {
            await committing;
        }
        catch (Exception ex)
        {
            commitFailure = ex;
        }

        foreach (var request in handedOver)
        {
            if ((request.EndFailure ?? commitFailure) is { } ex)
            {
                request.Done.TrySetException(ex);
            }
            else
            {
                request.Done.TrySetResult(true);
            }
        }
    }

    /// <summary>A message waiting for its hand-over; <see cref="Done"/> says whether its end was written.</summary>
    internal sealed class Request(ClaimedDelivery delivery, Action writeEnd)
    {
        public ClaimedDelivery Delivery { get; } = delivery;
        public Action WriteEnd { get; } = writeEnd;
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>What writing the end threw, if it did.</summary>
        public Exception? EndFailure { get; set; }
    }
}
