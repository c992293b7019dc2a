namespace Notify.Modules.Abstractions.Data;

/// <summary>
/// For the queries that take the next rows of a table used as a queue (the outbox relay, the senders' claims): they
/// read a partial index in its order and stop after a batch. A busy queue table changes faster than autovacuum
/// analyzes it, and with its statistics from a quieter moment PostgreSQL expects a handful of waiting rows and picks a
/// bitmap scan that reads and sorts every waiting row instead — measured on the outbox with 27k rows waiting: 89 ms a
/// batch instead of well under one, so the backlog grew faster than the relay could work it off.
/// </summary>
public static class QueueScans
{
    /// <summary>
    /// Put before such a query, in the same command: makes the rest of the current transaction walk indexes in order
    /// rather than scan and sort, without a round trip of its own.
    /// </summary>
    public const string IndexOrder = "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off;\n";
}
