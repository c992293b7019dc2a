using System.Diagnostics;

namespace Notify.Testing;

/// <summary>
/// A clock a test sets: what "now" is for the code under test. After each setting it keeps running at real speed, so
/// events written one after the other still get increasing times. Timers and delays run on real time (the base
/// <see cref="TimeProvider"/> creates system timers), so polling loops keep polling while the date jumps.
/// </summary>
public sealed class ManualClock : TimeProvider
{
    private readonly Lock _lock = new();
    private DateTimeOffset _setTo;
    private long _setAt;

    public ManualClock(DateTimeOffset start) => Now = start;

    public DateTimeOffset Now
    {
        get
        {
            lock (_lock)
            {
                return _setTo + Stopwatch.GetElapsedTime(_setAt);
            }
        }
        set
        {
            lock (_lock)
            {
                (_setTo, _setAt) = (value.ToUniversalTime(), Stopwatch.GetTimestamp());
            }
        }
    }

    public override DateTimeOffset GetUtcNow() => Now;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
}
