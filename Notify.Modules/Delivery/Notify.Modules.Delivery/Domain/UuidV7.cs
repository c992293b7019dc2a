namespace Notify.Modules.Delivery.Domain;

/// <summary>
/// Notifications are keyed by (id, created_at) in monthly partitions. Their id is a UUIDv7 made from the same
/// instant as created_at (to the millisecond), so an id alone leads straight to its row and its partition.
/// </summary>
internal static class UuidV7
{
    /// <summary>A new id and its creation time, equal to the millisecond the id carries.</summary>
    public static (Guid Id, DateTimeOffset CreatedAt) New(TimeProvider clock)
    {
        var now = clock.GetUtcNow();
        var createdAt = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
        return (Guid.CreateVersion7(createdAt), createdAt);
    }

    /// <summary>The creation time a UUIDv7 carries; null for other ids (they name no notification).</summary>
    public static DateTimeOffset? CreatedAt(Guid id)
    {
        if (id.Version != 7)
        {
            return null;
        }

        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        long ms = 0;
        for (var i = 0; i < 6; i++)
        {
            ms = (ms << 8) | bytes[i];
        }

        return DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }
}
