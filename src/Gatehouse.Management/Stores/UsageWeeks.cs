namespace Gatehouse.Management.Stores;

/// <summary>
/// Weeks of the week totals (migration 11): Monday 00:00 UTC to the next, in Unix seconds. A range of buckets splits
/// into the whole weeks it holds (read from the totals), the whole days beside them (day rows), and the part of a day at
/// either end (rows of the range's own granularity).
/// </summary>
internal static class UsageWeeks
{
    public const long Day = 86_400;
    public const long Week = 7 * Day;

    /// <summary>The start of the week holding <paramref name="seconds"/> (not before 1970): the triggers' expression.</summary>
    public static long Start(long seconds) => ((seconds / Day + 3) / 7 * 7 - 3) * Day;

    /// <summary>
    /// [from, to) as [from, d0) [d0, w0) [w0, w1) [w1, d1) [d1, to): parts of days, whole days, whole weeks, whole days,
    /// parts of days; null when it holds no whole week (then the rows of the range are few enough to add up directly).
    /// </summary>
    public static (long D0, long W0, long W1, long D1)? Split(long from, long to)
    {
        if (from < 0 || to <= from)
        {
            return null;
        }

        var d0 = (from + Day - 1) / Day * Day;
        var d1 = to / Day * Day;
        var w0 = Start(d0) == d0 ? d0 : Start(d0) + Week;
        var w1 = Start(d1);
        return w0 < w1 && d0 <= w0 && w1 <= d1 ? (d0, w0, w1, d1) : null;
    }
}
