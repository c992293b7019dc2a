namespace Notify.Modules.Abstractions;

/// <summary>UUIDv7 ids: time-ordered, so inserts stay index-friendly and ids sort by creation.</summary>
public static class Ids
{
    public static Guid New(TimeProvider clock) => Guid.CreateVersion7(clock.GetUtcNow());
}
