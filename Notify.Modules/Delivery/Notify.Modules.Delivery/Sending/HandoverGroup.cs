using System.Data;
using Notify.Modules.Delivery.Domain;
using Npgsql;

namespace Notify.Modules.Delivery.Sending;

/// <summary>
/// Hands over the messages of all of a sender's SMTP connections that reach the end of their data at about the same
/// time together: one transaction marks them all (<see cref="ChannelDelivery.HandedOverAt"/>), its COMMIT is sent, and
/// each message's end is written right after it, back to back on one thread. That is the single hand-over of
/// <see cref="SendingStore.BeginHandOverAsync"/> — mark, COMMIT sent, end written, COMMIT awaited — done for a group, so a
/// message costs the database a share of its group's round trip instead of two round trips of its own: with many
/// connections those round trips, not the work in them, were most of what an email cost. A Worker killed before the
/// COMMIT leaves the group unmarked and unsent; after it, each message is sent or, if the kill fell between two of the
/// writes, marked but not sent — the same few-microsecond window per message as one at a time.
/// </summary>
/// <remarks>
/// Group commit without a timer: the first message to arrive while no group is being handed over starts one; those
/// arriving meanwhile form the next. Groups go one at a time, over one connection kept open for them (renting it from the
/// pool for every group cost a session reset per group), and one round trip each: the COMMIT of a marked group travels
/// with the BEGIN and the mark of the next (a batch of three statements), its ends are written right after that batch
/// went out, and the answers say whether the one committed and which of the other's deliveries are still theirs.
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
        // The group marked in the open transaction, whose COMMIT and ends go with the next round trip.
        List<Request>? marked = null;
        while (true)
        {
            List<Request> next;
            lock (_gate)
            {
                if (_waiting.Count == 0 && marked is null)
                {
                    _running = false;
                    return;
                }

                next = _waiting;
                _waiting = [];
            }

            marked = await CommitAndMarkAsync(marked, next);
        }
    }

    /// <summary>
    /// Hands the groups over one after another as the runner does (each group's COMMIT in one batch with the next group's
    /// mark), the last committed alone; for tests, with groups of their choosing.
    /// </summary>
    internal async Task HandOverInTurnAsync(params IReadOnlyList<Request>[] groups)
    {
        List<Request>? marked = null;
        foreach (var group in groups)
        {
            marked = await CommitAndMarkAsync(marked, group);
        }

        await CommitAndMarkAsync(marked, []);
    }

    /// <summary>
    /// One round trip: commits <paramref name="marked"/> (their ends written right after the COMMIT went out) and marks
    /// <paramref name="next"/> in a new transaction; the requests of <paramref name="next"/> that are still theirs to send,
    /// to be committed by the next call (null when there was nothing to mark). A failed COMMIT, or a connection lost without
    /// its answer, fails the requests of <paramref name="marked"/>, whose ends may be out, as the single hand-over would;
    /// any failure fails those of <paramref name="next"/>, before any of their ends went out (a failed try for each sender).
    /// </summary>
    private async Task<List<Request>?> CommitAndMarkAsync(List<Request>? marked, IReadOnlyList<Request> next)
    {
        try
        {
            if (_connection is not { State: ConnectionState.Open })
            {
                // A COMMIT on another connection would commit nothing (PostgreSQL only warns): the marks went with this one.
                if (marked is not null)
                {
                    throw new NpgsqlException("The connection of the marked group's transaction closed before its COMMIT.");
                }

                await DisposeAsync();
                _connection = await dataSource.OpenConnectionAsync();
            }

            await using var batch = new NpgsqlBatch(_connection);
            var commit = new NpgsqlBatchCommand("COMMIT");
            if (marked is not null)
            {
                batch.BatchCommands.Add(commit);
            }

            if (next.Count > 0)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
                batch.BatchCommands.Add(MarkCommand(next));
            }

            if (batch.BatchCommands.Count == 0)
            {
                return null;
            }

            // Npgsql has written the batch when this returns (only the answers are awaited): the ends follow at once.
            var executing = batch.ExecuteReaderAsync();
            if (marked is not null)
            {
                WriteEnds(marked);
            }

            // The reader comes back at the first statement with rows, the mark's: the COMMIT and the BEGIN have none.
            NpgsqlDataReader reader;
            try
            {
                reader = await executing;
            }
            catch (Exception ex) when (marked is not null)
            {
                // Statements run in order, so a failed mark means the COMMIT before it went through; a failed COMMIT, or a
                // connection lost with no answer, leaves the marked group's outcome unknown.
                var committed = ex is PostgresException { BatchCommand: { } failed } && failed != commit;
                Complete(marked, committed ? null : ex);
                throw;
            }

            await using (reader)
            {
                if (marked is not null)
                {
                    Complete(marked, null);
                }

                return next.Count > 0 ? await StillOursAsync(reader, next) : null;
            }
        }
        catch (Exception ex)
        {
            // Nothing of the next group went out: each of its senders treats this as a failed try, as do those of a marked
            // group whose ends were not written (the connection broke between the rounds). The connection may be broken
            // (and its open transaction rolls back as it closes): the next round opens another.
            foreach (var request in marked is null ? next : [.. marked, .. next])
            {
                request.Done.TrySetException(ex);
            }

            await DisposeAsync();
            return null;
        }
    }

    /// <summary>
    /// A request is matched by its claim (id and lease), not by id alone: a delivery whose lease ran out may be in the group
    /// twice, from the sender that lost it and from the one that claimed it again, and only the latter may send.
    /// </summary>
    private static async Task<List<Request>> StillOursAsync(NpgsqlDataReader reader, IReadOnlyList<Request> group)
    {
        var ours = new HashSet<(Guid Id, DateTimeOffset LeasedUntil)>();
        while (await reader.ReadAsync())
        {
            ours.Add((reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1)));
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

        return handedOver;
    }

    private static void WriteEnds(List<Request> handedOver)
    {
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
    }

    private static void Complete(List<Request> handedOver, Exception? commitFailure)
    {
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

    private NpgsqlBatchCommand MarkCommand(IReadOnlyList<Request> group)
    {
        var command = new NpgsqlBatchCommand(MarkSql);
        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        command.Parameters.AddWithValue("ids", group.Select(r => r.Delivery.Id).ToArray());
        command.Parameters.AddWithValue("createdAts", group.Select(r => r.Delivery.CreatedAt).ToArray());
        command.Parameters.AddWithValue("leasedUntils", group.Select(r => r.Delivery.LeasedUntil).ToArray());
        return command;
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
