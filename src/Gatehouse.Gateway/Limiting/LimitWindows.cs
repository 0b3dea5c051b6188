using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Limiting;

/// <summary>
/// Calendar math for fixed windows aligned to UTC. A window is numbered so that numbers only grow with time:
/// seconds, minutes, hours and days since the Unix epoch (Unix time has no leap seconds, so every UTC day is
/// 86,400 of them), and months since January 1970. The numbers fit in 32 bits until 2106.
/// </summary>
internal static class LimitWindows
{
    private const long EpochTicks = 621_355_968_000_000_000; // DateTimeOffset.UnixEpoch.UtcTicks

    /// <summary>The number of the window that <paramref name="utcTicks"/> falls in.</summary>
    public static uint Index(LimitPeriod per, long utcTicks)
    {
        var seconds = (utcTicks - EpochTicks) / TimeSpan.TicksPerSecond;
        return per switch
        {
            LimitPeriod.Second => (uint)seconds,
            LimitPeriod.Minute => (uint)(seconds / 60),
            LimitPeriod.Hour => (uint)(seconds / 3600),
            LimitPeriod.Day => (uint)(seconds / 86_400),
            _ => MonthIndex(new DateTime(utcTicks, DateTimeKind.Utc)),
        };
    }

    /// <summary>When window <paramref name="index"/> ends (the next one starts), in UTC ticks.</summary>
    public static long EndTicks(LimitPeriod per, uint index) => per switch
    {
        LimitPeriod.Second => EpochTicks + ((long)index + 1) * TimeSpan.TicksPerSecond,
        LimitPeriod.Minute => EpochTicks + ((long)index + 1) * TimeSpan.TicksPerMinute,
        LimitPeriod.Hour => EpochTicks + ((long)index + 1) * TimeSpan.TicksPerHour,
        LimitPeriod.Day => EpochTicks + ((long)index + 1) * TimeSpan.TicksPerDay,
        _ => new DateTime(1970 + (int)((index + 1) / 12), (int)((index + 1) % 12) + 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks,
    };

    /// <summary>Whole seconds from <paramref name="utcTicks"/> until window <paramref name="index"/> ends, rounded up; at least 1.</summary>
    public static int SecondsUntilEnd(LimitPeriod per, uint index, long utcTicks)
    {
        var ticks = EndTicks(per, index) - utcTicks;
        var seconds = (ticks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond;
        return (int)Math.Clamp(seconds, 1, int.MaxValue);
    }

    /// <summary>The window's nominal length in seconds for <c>RateLimit-Policy</c>'s <c>w</c>; null for a month, whose length varies.</summary>
    public static int? NominalSeconds(LimitPeriod per) => per switch
    {
        LimitPeriod.Second => 1,
        LimitPeriod.Minute => 60,
        LimitPeriod.Hour => 3600,
        LimitPeriod.Day => 86_400,
        _ => null,
    };

    private static uint MonthIndex(DateTime utc) => (uint)((utc.Year - 1970) * 12 + utc.Month - 1);
}
