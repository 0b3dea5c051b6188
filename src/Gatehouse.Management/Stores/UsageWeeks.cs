using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Stores;

/// <summary>
/// Weeks of the week totals (migration 11): Monday 00:00 UTC to the next, in Unix seconds; and the split of a range of
/// buckets into the coarsest rows that add up to it, for rankings of applications (issue 19).
/// </summary>
internal static class UsageWeeks
{
    public const long Day = 86_400;
    public const long Week = 7 * Day;

    /// <summary>The start of the week holding <paramref name="seconds"/> (not before 1970): the triggers' expression.</summary>
    public static long Start(long seconds) => ((seconds / Day + 3) / 7 * 7 - 3) * Day;

    /// <summary>
    /// [from, to) of <paramref name="granularity"/>'s buckets as parts that each read the coarsest rows that hold them:
    /// the whole weeks inside it from the week totals, the whole days beside those from the day rows, the whole hours beside
    /// those from the hour rows, and the minutes at the ends (for a range of minutes). A part of a finer level holds the
    /// same buckets the query's own table would have given for it (a bucket counts when it starts in the range), and each
    /// coarser row is the sum of the finer rows it covers: the aggregator writes every granularity of a flush in one
    /// transaction, and retention keeps no finer granularity longer than a coarser one (UsageAggregator.Retention).
    /// </summary>
    public static List<(UsageLevel Level, long From, long To)> Segments(UsageGranularity granularity, long from, long to)
    {
        var segments = new List<(UsageLevel, long, long)>();
        var level = granularity switch
        {
            UsageGranularity.Minute => UsageLevel.Minute,
            UsageGranularity.Hour => UsageLevel.Hour,
            _ => UsageLevel.Day,
        };
        if (to <= from)
        {
            return segments;
        }

        if (from < 0)
        {
            // Before 1970 the week expression is not a week; nothing is stored there, so the range is read as it is.
            segments.Add((level, from, to));
            return segments;
        }

        Add(segments, level, from, to);
        return segments;
    }

    private static void Add(List<(UsageLevel, long, long)> segments, UsageLevel level, long from, long to)
    {
        if (level < UsageLevel.Week)
        {
            var coarser = level + 1;
            var (first, last) = (Up(coarser, from), Down(coarser, to));
            if (first < last)
            {
                if (from < first)
                {
                    segments.Add((level, from, first));
                }

                Add(segments, coarser, first, last);
                if (last < to)
                {
                    segments.Add((level, last, to));
                }

                return;
            }
        }

        segments.Add((level, from, to));
    }

    private static long Down(UsageLevel level, long seconds) => level switch
    {
        UsageLevel.Week => Start(seconds),
        _ => seconds / Length(level) * Length(level),
    };

    private static long Up(UsageLevel level, long seconds) => Down(level, seconds) is var start && start == seconds
        ? start
        : level == UsageLevel.Week ? start + Week : start + Length(level);

    private static long Length(UsageLevel level) => level switch
    {
        UsageLevel.Minute => 60,
        UsageLevel.Hour => 3_600,
        UsageLevel.Day => Day,
        _ => Week,
    };
}

/// <summary>The rows a part of a ranking reads: a granularity's rollups, or the week totals.</summary>
internal enum UsageLevel
{
    Minute,
    Hour,
    Day,
    Week,
}
