using NodaTime;
using NodaTime.Text;
using NodaTime.TimeZones;
using Notify.Modules.Preferences.Features;

namespace Notify.Modules.Preferences.Domain;

/// <summary>Parsing of the local times and weekdays people write in preference documents.</summary>
internal static class LocalSchedule
{
    private static readonly LocalTimePattern TimePattern = LocalTimePattern.CreateWithInvariantCulture("HH:mm");

    public static readonly IReadOnlyList<string> DayNames = new List<string> {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" };

    public static bool TryParseTime(string? text, out LocalTime time)
    {
        var result = text is null ? null : TimePattern.Parse(text);
        time = result is { Success: true } ? result.Value : default;
        return result is { Success: true };
    }

    public static bool TryParseDay(string? text, out IsoDayOfWeek day)
    {
        var index = text is null ? -1 : ((List<string>)DayNames).IndexOf(text.ToLowerInvariant());
        day = index < 0 ? IsoDayOfWeek.None : (IsoDayOfWeek)(index + 1);
        return index >= 0;
    }

    private static readonly ZoneLocalMappingResolver Earlier = Resolvers.CreateMappingResolver(Resolvers.ReturnEarlier, Resolvers.ReturnForwardShifted);
    private static readonly ZoneLocalMappingResolver Later = Resolvers.CreateMappingResolver(Resolvers.ReturnLater, Resolvers.ReturnForwardShifted);

    /// <summary>
    /// The instant a local date and time names in <paramref name="zone"/>. On the night clocks go forward, a time
    /// in the gap moves forward by the gap (02:30 → 03:30). On the night they go back, a time that happens twice
    /// is read as its first occurrence for a start and its second for an end, so a window is never cut short.
    /// </summary>
    public static Instant ToInstant(LocalDateTime local, DateTimeZone zone, bool isEnd = false) =>
        zone.ResolveLocal(local, isEnd ? Later : Earlier).ToInstant();
}

/// <summary>A daily window (quiet hours, work hours) in local time, on some days of the week.</summary>
internal sealed class DailyWindow
{
    private readonly LocalTime _start;
    private readonly LocalTime _end;
    private readonly bool[] _days = new bool[8]; // indexed by IsoDayOfWeek (1 = Monday)

    private DailyWindow(LocalTime start, LocalTime end, IEnumerable<IsoDayOfWeek> days)
    {
        _start = start;
        _end = end;
        foreach (var day in days)
        {
            _days[(int)day] = true;
        }
    }

    /// <summary>The window, or null with an error that says what is wrong.</summary>
    public static DailyWindow? Parse(TimeWindow window, out string? error)
    {
        error = null;
        if (!LocalSchedule.TryParseTime(window.Start, out var start) || !LocalSchedule.TryParseTime(window.End, out var end))
        {
            error = "start and end are local times written HH:mm, e.g. 22:00.";
            return null;
        }

        if (start == end)
        {
            error = "start and end must differ.";
            return null;
        }

        var days = new List<IsoDayOfWeek>();
        foreach (var name in window.Days ?? LocalSchedule.DayNames)
        {
            if (!LocalSchedule.TryParseDay(name, out var day))
            {
                error = $"'{name}' is not a day; use monday … sunday.";
                return null;
            }

            days.Add(day);
        }

        if (days.Count == 0)
        {
            error = "days must name at least one day (or be left out for every day).";
            return null;
        }

        return new DailyWindow(start, end, days);
    }

    /// <summary>The end of the occurrence of this window that contains <paramref name="now"/>, or null when outside.</summary>
    public Instant? EndIfInside(Instant now, DateTimeZone zone)
    {
        var today = now.InZone(zone).Date;
        // An occurrence that started yesterday can still be running (22:00–07:00), so look at both.
        foreach (var date in new[] { today.PlusDays(-1), today })
        {
            if (Occurrence(date, zone) is var (start, end) && start <= now && now < end)
            {
                return end;
            }
        }

        return null;
    }

    /// <summary>The start of the first occurrence that begins after <paramref name="now"/>.</summary>
    public Instant NextStart(Instant now, DateTimeZone zone)
    {
        var date = now.InZone(zone).Date;
        for (var i = 0; i <= 8; i++, date = date.PlusDays(1))
        {
            if (Occurrence(date, zone) is var (start, _) && start > now)
            {
                return start;
            }
        }

        throw new InvalidOperationException("A window with at least one day always starts within eight days.");
    }

    private (Instant Start, Instant End)? Occurrence(LocalDate date, DateTimeZone zone)
    {
        if (!_days[(int)date.DayOfWeek])
        {
            return null;
        }

        var start = LocalSchedule.ToInstant(date + _start, zone);
        var end = LocalSchedule.ToInstant((_end > _start ? date : date.PlusDays(1)) + _end, zone, isEnd: true);
        return (start, end);
    }
}

/// <summary>When a message may go out given quiet hours (wait for their end) and work hours (wait for their start).</summary>
internal static class DeliveryTiming
{
    /// <summary>Null when the message may go now; otherwise the first instant no window holds it back.</summary>
    public static Instant? DeliverAt(Instant now, DateTimeZone zone, DailyWindow? quietHours, DailyWindow? workHours)
    {
        var at = now;
        // Moving past one window can land inside the other (quiet hours ending before work hours begin), so repeat
        // until neither moves the time; a week's worth of rounds is more than any pair of daily windows needs.
        for (var round = 0; round < 14; round++)
        {
            var moved = false;
            if (quietHours?.EndIfInside(at, zone) is { } end)
            {
                at = end;
                moved = true;
            }

            if (workHours is not null && workHours.EndIfInside(at, zone) is null)
            {
                at = workHours.NextStart(at, zone);
                moved = true;
            }

            if (!moved)
            {
                break;
            }
        }

        return at == now ? null : at;
    }
}

/// <summary>A digest schedule: daily at a local time, or weekly on a day at a local time.</summary>
internal sealed record DigestSchedule(string Frequency, LocalTime Time, IsoDayOfWeek Day)
{
    public const string Off = "off";
    public const string Daily = "daily";
    public const string Weekly = "weekly";

    /// <summary>The schedule, null for <c>off</c>, or an error that says what is wrong.</summary>
    public static DigestSchedule? Parse(DigestSetting setting, out string? error)
    {
        error = null;
        switch (setting.Frequency)
        {
            case Off:
                return null;
            case Daily or Weekly when !LocalSchedule.TryParseTime(setting.Time, out _):
                error = "time is the local time the digest goes out, written HH:mm, e.g. 09:00.";
                return null;
            case Weekly when !LocalSchedule.TryParseDay(setting.Day, out _):
                error = "a weekly digest needs day: monday … sunday.";
                return null;
            case Daily or Weekly:
                LocalSchedule.TryParseTime(setting.Time, out var time);
                LocalSchedule.TryParseDay(setting.Day, out var day);
                return new DigestSchedule(setting.Frequency, time, setting.Frequency == Weekly ? day : IsoDayOfWeek.None);
            default:
                error = "frequency is off, daily or weekly.";
                return null;
        }
    }

    /// <summary>The first time after <paramref name="now"/> the digest goes out.</summary>
    public Instant Next(Instant now, DateTimeZone zone)
    {
        var date = now.InZone(zone).Date;
        for (var i = 0; i <= 8; i++, date = date.PlusDays(1))
        {
            if (Frequency == Weekly && date.DayOfWeek != Day)
            {
                continue;
            }

            var at = LocalSchedule.ToInstant(date + Time, zone);
            if (at > now)
            {
                return at;
            }
        }

        throw new InvalidOperationException("A daily or weekly digest always falls within eight days.");
    }
}
