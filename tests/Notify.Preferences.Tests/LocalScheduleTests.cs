using NodaTime;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Preferences.Features;

namespace Notify.Preferences.Tests;

public sealed class LocalScheduleTests
{
    private static readonly DateTimeZone NewYork = DateTimeZoneProviders.Tzdb["America/New_York"];
    private static readonly DateTimeZone Berlin = DateTimeZoneProviders.Tzdb["Europe/Berlin"];
    private static readonly DailyWindow Night = Window("22:00", "07:00");

    private static DailyWindow Window(string start, string end, params string[] days) =>
        DailyWindow.Parse(new TimeWindow(start, end, days.Length == 0 ? null : days), out _)!;

    private static Instant Local(DateTimeZone zone, int year, int month, int day, int hour, int minute) =>
        new LocalDateTime(year, month, day, hour, minute).InZoneStrictly(zone).ToInstant();

    private static Instant Utc(int year, int month, int day, int hour, int minute = 0) => Instant.FromUtc(year, month, day, hour, minute);

    [Theory]
    [InlineData(23, 0, true)]
    [InlineData(22, 0, true)]
    [InlineData(6, 59, true)]
    [InlineData(7, 0, false)]
    [InlineData(21, 59, false)]
    [InlineData(12, 0, false)]
    public void A_window_across_midnight_holds_from_its_start_to_its_end(int hour, int minute, bool inside)
    {
        var now = Local(Berlin, 2026, 6, 10, hour, minute);
        var end = Night.EndIfInside(now, Berlin);

        Assert.Equal(inside, end is not null);
        if (end is { } e)
        {
            Assert.Equal(new LocalTime(7, 0), e.InZone(Berlin).TimeOfDay);
            Assert.True(e > now && e - now <= Duration.FromHours(9));
        }
    }

    // The night before the clocks change (22:00 → 07:00): the window is an hour shorter in spring, longer in autumn,
    // but always ends at 07:00 on the local clock.
    [Theory]
    [InlineData("America/New_York", 2026, 3, 7, 2026, 3, 8, 11)]   // spring forward, EST → EDT: 07:00 EDT = 11:00 UTC
    [InlineData("America/New_York", 2026, 10, 31, 2026, 11, 1, 12)] // fall back, EDT → EST: 07:00 EST = 12:00 UTC
    [InlineData("Europe/Berlin", 2026, 3, 28, 2026, 3, 29, 5)]      // spring forward, CET → CEST: 07:00 CEST = 05:00 UTC
    [InlineData("Europe/Berlin", 2026, 10, 24, 2026, 10, 25, 6)]    // fall back, CEST → CET: 07:00 CET = 06:00 UTC
    public void Quiet_hours_on_a_daylight_saving_night_end_at_the_local_end_time(
        string zoneId, int y, int m, int d, int endY, int endM, int endD, int endUtcHour)
    {
        var zone = DateTimeZoneProviders.Tzdb[zoneId];
        var start = Local(zone, y, m, d, 22, 0);

        Assert.Equal(Utc(endY, endM, endD, endUtcHour), Night.EndIfInside(start, zone));
        Assert.Equal(Utc(endY, endM, endD, endUtcHour), Night.EndIfInside(Local(zone, y, m, d, 23, 30), zone));
        Assert.Null(Night.EndIfInside(Local(zone, y, m, d, 21, 59), zone));
        Assert.Null(Night.EndIfInside(Local(zone, endY, endM, endD, 7, 0), zone));
        Assert.Equal(Local(zone, y, m, d, 22, 0), Night.NextStart(Local(zone, y, m, d, 12, 0), zone));
    }

    [Fact]
    public void Spring_forward_night_lasts_an_hour_less_and_fall_back_night_an_hour_more()
    {
        Duration Length(DateTimeZone zone, int y, int m, int d)
        {
            var start = Local(zone, y, m, d, 22, 0);
            return Night.EndIfInside(start, zone)!.Value - start;
        }

        Assert.Equal(Duration.FromHours(8), Length(NewYork, 2026, 3, 7));
        Assert.Equal(Duration.FromHours(10), Length(NewYork, 2026, 10, 31));
        Assert.Equal(Duration.FromHours(8), Length(Berlin, 2026, 3, 28));
        Assert.Equal(Duration.FromHours(10), Length(Berlin, 2026, 10, 24));
        Assert.Equal(Duration.FromHours(9), Length(Berlin, 2026, 6, 10));
    }

    [Fact]
    public void A_window_that_starts_in_the_spring_gap_starts_when_the_clocks_resume()
    {
        var window = Window("02:30", "06:00");

        // 02:30 does not exist on 8 March 2026 in New York: 02:00 EST jumps to 03:00 EDT, so the window starts at 03:30 EDT.
        Assert.Null(window.EndIfInside(Utc(2026, 3, 8, 7, 15), NewYork)); // 03:15 EDT
        Assert.Equal(Utc(2026, 3, 8, 10), window.EndIfInside(Utc(2026, 3, 8, 7, 45), NewYork)); // 03:45 EDT → 06:00 EDT
    }

    [Fact]
    public void A_window_ending_at_a_time_that_happens_twice_ends_at_its_second_occurrence()
    {
        var window = Window("23:00", "01:30");

        // 1 November 2026, New York: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
        Assert.Equal(Utc(2026, 11, 1, 6, 30), window.EndIfInside(Utc(2026, 11, 1, 4, 0), NewYork));
        Assert.Equal(Utc(2026, 11, 1, 6, 30), window.EndIfInside(Utc(2026, 11, 1, 5, 45), NewYork));
    }

    [Fact]
    public void A_window_applies_only_on_the_days_it_starts_on()
    {
        var fridayNights = Window("22:00", "07:00", "friday");

        Assert.NotNull(fridayNights.EndIfInside(Local(Berlin, 2026, 6, 12, 23, 0), Berlin)); // Friday 23:00
        Assert.NotNull(fridayNights.EndIfInside(Local(Berlin, 2026, 6, 13, 6, 0), Berlin)); // Saturday 06:00, still Friday's night
        Assert.Null(fridayNights.EndIfInside(Local(Berlin, 2026, 6, 13, 23, 0), Berlin)); // Saturday 23:00
    }

    [Fact]
    public void Work_hours_hold_messages_until_the_next_working_morning_and_quiet_hours_chain_into_them()
    {
        var work = Window("09:00", "17:00", "monday", "tuesday", "wednesday", "thursday", "friday");

        // Saturday 10:00 → Monday 09:00.
        Assert.Equal(Local(Berlin, 2026, 6, 15, 9, 0), DeliveryTiming.DeliverAt(Local(Berlin, 2026, 6, 13, 10, 0), Berlin, null, work));
        // Monday 23:00: quiet hours end 07:00 Tuesday, still before work hours → 09:00 Tuesday.
        Assert.Equal(Local(Berlin, 2026, 6, 16, 9, 0), DeliveryTiming.DeliverAt(Local(Berlin, 2026, 6, 15, 23, 0), Berlin, Night, work));
        // Tuesday 10:00: inside work hours, outside quiet hours → now.
        Assert.Null(DeliveryTiming.DeliverAt(Local(Berlin, 2026, 6, 16, 10, 0), Berlin, Night, work));
    }

    [Theory]
    [InlineData("22:00", "22:00", null)]
    [InlineData("25:00", "07:00", null)]
    [InlineData("22:00", "7am", null)]
    [InlineData("22:00", "07:00", "caturday")]
    public void Invalid_windows_are_refused_with_a_reason(string start, string end, string? day)
    {
        Assert.Null(DailyWindow.Parse(new TimeWindow(start, end, day is null ? null : [day]), out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Daily_digest_goes_out_at_the_next_local_time()
    {
        var daily = DigestSchedule.Parse(new DigestSetting("daily", "09:00"), out _)!;

        Assert.Equal(Local(Berlin, 2026, 6, 10, 9, 0), daily.Next(Local(Berlin, 2026, 6, 10, 8, 0), Berlin));
        Assert.Equal(Local(Berlin, 2026, 6, 11, 9, 0), daily.Next(Local(Berlin, 2026, 6, 10, 9, 0), Berlin));
        // Across the spring change in New York, 09:00 stays 09:00 local: 14:00 UTC before, 13:00 UTC after.
        Assert.Equal(Utc(2026, 3, 8, 13), daily.Next(Local(NewYork, 2026, 3, 7, 10, 0), NewYork));
    }

    [Fact]
    public void Weekly_digest_goes_out_on_its_day_and_a_digest_time_in_the_gap_moves_forward()
    {
        var mondays = DigestSchedule.Parse(new DigestSetting("weekly", "09:00", "monday"), out _)!;
        Assert.Equal(Local(Berlin, 2026, 6, 15, 9, 0), mondays.Next(Local(Berlin, 2026, 6, 10, 12, 0), Berlin)); // Wednesday → Monday
        Assert.Equal(Local(Berlin, 2026, 6, 22, 9, 0), mondays.Next(Local(Berlin, 2026, 6, 15, 9, 30), Berlin)); // Monday after → next Monday

        var twoThirty = DigestSchedule.Parse(new DigestSetting("daily", "02:30"), out _)!;
        Assert.Equal(Utc(2026, 3, 29, 1, 30), twoThirty.Next(Local(Berlin, 2026, 3, 28, 12, 0), Berlin)); // 03:30 CEST
    }

    [Theory]
    [InlineData("hourly", "09:00", null)]
    [InlineData("daily", null, null)]
    [InlineData("weekly", "09:00", null)]
    [InlineData("weekly", "09:00", "someday")]
    public void Invalid_digest_settings_are_refused_with_a_reason(string frequency, string? time, string? day)
    {
        Assert.Null(DigestSchedule.Parse(new DigestSetting(frequency, time, day), out var error));
        Assert.NotNull(error);
    }
}
