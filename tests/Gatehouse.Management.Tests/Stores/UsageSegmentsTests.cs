using Gatehouse.Management.Stores;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Tests.Stores;

// The split of a ranking's range into the coarsest rows that hold it (issue 19).
public sealed class UsageSegmentsTests
{
    // Monday 2026-01-05 00:00 UTC.
    private static readonly long Monday = new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

    [Fact]
    public void NinetyDaysOfHours_FromAMonday_AreWholeWeeksAndTheDaysAfter()
    {
        var segments = UsageWeeks.Segments(UsageGranularity.Hour, Monday, Monday + (90 * UsageWeeks.Day));
        Assert.Equal(
            [(UsageLevel.Week, Monday, Monday + (12 * UsageWeeks.Week)), (UsageLevel.Day, Monday + (84 * UsageWeeks.Day), Monday + (90 * UsageWeeks.Day))],
            segments);
    }

    [Fact]
    public void TwentyFourHoursFromNoon_HaveNoWholeDay_AndStayHours()
    {
        var noon = Monday + (12 * 3600);
        Assert.Equal([(UsageLevel.Hour, noon, noon + UsageWeeks.Day)], UsageWeeks.Segments(UsageGranularity.Hour, noon, noon + UsageWeeks.Day));
    }

    [Fact]
    public void MinutesAcrossDays_AreMinutesHoursDaysHoursMinutes()
    {
        var from = Monday + (2 * UsageWeeks.Day) + (22 * 3600) + (30 * 60) + 15;
        var to = Monday + (5 * UsageWeeks.Day) + (1 * 3600) + (10 * 60);
        Assert.Equal(
            [
                (UsageLevel.Minute, from, Monday + (2 * UsageWeeks.Day) + (23 * 3600)),
                (UsageLevel.Hour, Monday + (2 * UsageWeeks.Day) + (23 * 3600), Monday + (3 * UsageWeeks.Day)),
                (UsageLevel.Day, Monday + (3 * UsageWeeks.Day), Monday + (5 * UsageWeeks.Day)),
                (UsageLevel.Hour, Monday + (5 * UsageWeeks.Day), Monday + (5 * UsageWeeks.Day) + 3600),
                (UsageLevel.Minute, Monday + (5 * UsageWeeks.Day) + 3600, to),
            ],
            UsageWeeks.Segments(UsageGranularity.Minute, from, to));
    }

    [Fact]
    public void AnEmptyRange_HasNoParts_AndOneBefore1970_IsReadAsItIs()
    {
        Assert.Empty(UsageWeeks.Segments(UsageGranularity.Day, Monday, Monday));
        Assert.Empty(UsageWeeks.Segments(UsageGranularity.Day, Monday, Monday - 1));
        Assert.Equal([(UsageLevel.Day, -UsageWeeks.Week * 3, UsageWeeks.Week * 3)], UsageWeeks.Segments(UsageGranularity.Day, -UsageWeeks.Week * 3, UsageWeeks.Week * 3));
    }

    [Fact]
    public void AnyRange_IsCoveredOnce_InOrder_ByPartsAlignedToTheirRows()
    {
        var random = new Random(15);
        foreach (var granularity in new[] { UsageGranularity.Minute, UsageGranularity.Hour, UsageGranularity.Day })
        {
            for (var i = 0; i < 2_000; i++)
            {
                var from = Monday + random.NextInt64(-3 * UsageWeeks.Week, 3 * UsageWeeks.Week);
                var to = from + random.NextInt64(1, i % 2 == 0 ? 3 * UsageWeeks.Day : 20 * UsageWeeks.Week);
                var segments = UsageWeeks.Segments(granularity, from, to);
                Assert.Equal(from, segments[0].From);
                Assert.Equal(to, segments[^1].To);
                for (var s = 0; s < segments.Count; s++)
                {
                    var (level, start, end) = segments[s];
                    Assert.True(start < end, $"{granularity} [{from}, {to}): empty part {s}");
                    Assert.True(level >= (UsageLevel)(int)granularity, $"{granularity} [{from}, {to}): part {s} is finer than the query");
                    if (s > 0)
                    {
                        Assert.Equal(segments[s - 1].To, start);
                    }

                    if (level > (UsageLevel)(int)granularity)
                    {
                        // A coarser part starts and ends on its own rows' edges, so it holds exactly the finer buckets inside it.
                        var length = level switch { UsageLevel.Hour => 3600, UsageLevel.Day => UsageWeeks.Day, _ => UsageWeeks.Week };
                        var origin = level == UsageLevel.Week ? Monday : 0;
                        Assert.Equal(0, (start - origin) % length);
                        Assert.Equal(0, (end - origin) % length);
                    }
                }
            }
        }
    }
}
