using Gatehouse.Management.Stores;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Tests.Stores;

// Rankings of applications through the week totals of migration 11 and the applications of migration 15 (issue 19), on
// both databases.
public abstract partial class ConfigStoreTests
{
    private static readonly string[] RankedApps = ["app-a", "app-b", "app-c", "app-d", "app-e"];

    // Where in its hour the test's minute row of an hour is.
    private const long MinutePastTheHour = 7 * 60;

    [Fact]
    [Trait("Issue", "19")]
    public async Task ApplicationRankings_ThroughWeekTotals_EqualTheRowsAddedUp_AfterRewritesAndRetention_ForAnyRange()
    {
        var usage = (IUsageStore)Store;
        // 40 days from a Thursday (weeks start on Mondays), three hours a day, two nodes; day rows are the sums of their
        // hours, and each hour's calls are in one minute row (7 minutes past), as the aggregator writes them, and the
        // all-applications rows too (never ranked).
        var first = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
        var random = new Random(19);
        var hours = new Dictionary<(long Bucket, string Node, string App, int Status), long>();
        for (var day = 0; day < 40; day++)
        {
            foreach (var hour in new[] { 3, 11, 20 })
            {
                foreach (var app in RankedApps)
                {
                    foreach (var status in new[] { 200, 404, 503 })
                    {
                        if (random.Next(3) > 0)
                        {
                            hours[(first + (day * 86_400L) + (hour * 3_600L), random.Next(2) == 0 ? "n1" : "n2", app, status)] = random.Next(1, 50);
                        }
                    }
                }
            }
        }

        await WriteHoursAndDaysAsync(usage, hours);

        // A node rewrites some of its rows with new whole values (the triggers add the difference), then retention removes
        // the first three days of both granularities.
        foreach (var key in hours.Keys.Where(_ => random.Next(4) == 0).ToList())
        {
            hours[key] = random.Next(1, 80);
        }

        await WriteHoursAndDaysAsync(usage, hours);
        var cut = first + (3 * 86_400L);
        await usage.DeleteBeforeAsync(UsageGranularity.Minute, cut);
        await usage.DeleteBeforeAsync(UsageGranularity.Hour, cut);
        await usage.DeleteBeforeAsync(UsageGranularity.Day, cut);
        foreach (var key in hours.Keys.Where(k => k.Bucket < cut).ToList())
        {
            hours.Remove(key);
        }

        await AssertRankingsAsync(usage, hours, first);

        // Migrations 11's and 15's fills, run again from the rows as they are now, give the same totals and applications as
        // the triggers kept.
        await ExecuteSqlAsync("DELETE FROM usage_week_totals");
        await ExecuteSqlAsync("DELETE FROM usage_applications");
        await ExecuteSqlAsync(Migrations.WeekTotalsBackfill);
        await ExecuteSqlAsync(Migrations.UsageApplicationsBackfill);
        await AssertRankingsAsync(usage, hours, first);

        // Without the applications (a store whose list is lost), a ranking by application finds none: the list is what it
        // ranks, so this also shows it is read.
        await ExecuteSqlAsync("DELETE FROM usage_applications");
        var none = await usage.AggregateUsageAsync(new UsageRowQuery(UsageGranularity.Day, first, first + (40 * 86_400L), AllApplications: false), ["application"], byBucket: false, histograms: false, countsOnly: true);
        Assert.DoesNotContain(none, r => r.Count != 0);
        await ExecuteSqlAsync(Migrations.UsageApplicationsBackfill);
    }

    [Fact]
    [Trait("Issue", "19")]
    public async Task WeekTotals_TwoNodesWritingTheSameApplicationsAtOnce_NeitherFails_AndTheTotalsAddUp()
    {
        // Each node rewrites its day rows of the same 40 applications in its own shuffled order, at the same time, 30 times:
        // the shared week totals must neither deadlock two writers (PostgreSQL writes them concurrently; without the
        // writers' common order it reported a deadlock in one run of three at 15 rounds) nor lose an update.
        var usage = (IUsageStore)Store;
        var day = new DateTimeOffset(2026, 2, 2, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
        var apps = Enumerable.Range(0, 40).Select(i => $"app-{i:00}").ToArray();
        long Count(string node, int round, int app, int status) => ((round * 7) + (app * 3) + status + (node == "n1" ? 1 : 2)) % 50 + 1;
        const int Rounds = 30;
        for (var round = 0; round < Rounds; round++)
        {
            var writes = new[] { "n1", "n2" }.Select(node => Task.Run(async () =>
            {
                var rows = (from app in Enumerable.Range(0, apps.Length)
                            from status in new[] { 200, 500 }
                            from offset in new[] { 0, 1, 2 }
                            select new UsageRow
                            {
                                Granularity = UsageGranularity.Day, Bucket = day + (offset * 86_400L), Node = node,
                                Key = new UsageKey(apps[app], "retail", "items.get", status), Count = Count(node, round, app, status) + offset,
                                Histogram = new LatencyHistogram(),
                            }).OrderBy(_ => Random.Shared.Next()).ToList();
                await usage.WriteAsync(rows);
            })).ToArray();
            await Task.WhenAll(writes);
        }

        var ranked = await usage.AggregateUsageAsync(new UsageRowQuery(UsageGranularity.Day, day - (7 * 86_400L), day + (14 * 86_400L), AllApplications: false),
            ["application"], byBucket: false, histograms: false, countsOnly: true);
        Assert.Equal(apps.Length, ranked.Count);
        foreach (var row in ranked)
        {
            var app = Array.IndexOf(apps, row.Group[0]);
            var expected = (from node in new[] { "n1", "n2" } from status in new[] { 200, 500 } from offset in new[] { 0, 1, 2 } select Count(node, Rounds - 1, app, status) + offset).Sum();
            Assert.Equal(expected, row.Count);
        }
    }

    [Fact]
    [Trait("Issue", "19")]
    public async Task ApplicationRankings_SeeAnApplicationWrittenLateIntoAnEarlierWeek_AndOnlyTheRangesWeeksApplications()
    {
        // A ranking goes through the applications whose first and last week of usage overlap its range; a node that uploads
        // an older week late (a hybrid node back from an outage) must widen them, whatever this process remembers.
        var usage = (IUsageStore)Store;
        var monday = new DateTimeOffset(2026, 2, 2, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
        static UsageRow Day(long bucket, string app, long count) => new()
        {
            Granularity = UsageGranularity.Day, Bucket = bucket, Node = "n1", Key = new UsageKey(app, "retail", "items.get", 200), Count = count,
            Histogram = new LatencyHistogram(),
        };

        async Task<Dictionary<string, long>> RankAsync(long from, long to, UsageGranularity granularity = UsageGranularity.Day) =>
            (await usage.AggregateUsageAsync(new UsageRowQuery(granularity, from, to, AllApplications: false), ["application"], byBucket: false, histograms: false, countsOnly: true))
            .Where(r => r.Count != 0).ToDictionary(r => r.Group[0], r => r.Count);

        await usage.WriteAsync([Day(monday + (15 * 86_400L), "app-late", 5), Day(monday + (2 * 86_400L), "app-early", 3)]);
        Assert.Equal(new Dictionary<string, long> { ["app-early"] = 3 }, await RankAsync(monday, monday + (7 * 86_400L)));
        Assert.Equal(new Dictionary<string, long> { ["app-late"] = 5 }, await RankAsync(monday + (14 * 86_400L), monday + (21 * 86_400L)));

        await usage.WriteAsync([Day(monday + 86_400L, "app-late", 7)]);
        Assert.Equal(new Dictionary<string, long> { ["app-early"] = 3, ["app-late"] = 7 }, await RankAsync(monday, monday + (7 * 86_400L)));
        Assert.Equal(new Dictionary<string, long> { ["app-late"] = 7 }, await RankAsync(monday + 86_400L, monday + (2 * 86_400L)));
        Assert.Equal(new Dictionary<string, long> { ["app-early"] = 3, ["app-late"] = 12 }, await RankAsync(monday, monday + (21 * 86_400L)));
    }

    [Fact]
    [Trait("Issue", "19")]
    public async Task Retention_DeletesEveryRowBeforeTheCut_AndNoneAfter_AndSaysHowMany()
    {
        // On SQLite in statements of a few rows each (a small batch here, so that the cut falls on a batch's end and the
        // last statement deletes nothing); the day rows' triggers keep the week totals through every statement.
        if (Store is SqliteConfigStore sqlite)
        {
            sqlite.RetentionBatchRows = 4;
        }

        var usage = (IUsageStore)Store;
        var first = new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
        var rows = Enumerable.Range(0, 30).SelectMany(h => new[] { UsageGranularity.Hour, UsageGranularity.Day }.Select(g => new UsageRow
        {
            Granularity = g, Bucket = g == UsageGranularity.Hour ? first + (h * 3_600L) : first + (h * 86_400L), Node = "n1",
            Key = new UsageKey($"app-{h % 3}", "retail", "items.get", 200), Count = h + 1, Histogram = new LatencyHistogram(),
        })).ToList();
        await usage.WriteAsync(rows);

        Assert.Equal(16, await usage.DeleteBeforeAsync(UsageGranularity.Hour, first + (16 * 3_600L)));
        Assert.Equal(13, await usage.DeleteBeforeAsync(UsageGranularity.Day, first + (13 * 86_400L)));
        Assert.Equal(0, await usage.DeleteBeforeAsync(UsageGranularity.Day, first + (13 * 86_400L)));

        var hours = await usage.ReadUsageAsync(new UsageRowQuery(UsageGranularity.Hour, 0, first + (100 * 86_400L), AllApplications: false));
        Assert.Equal(Enumerable.Range(16, 14).Select(h => first + (h * 3_600L)), hours.Select(r => r.Bucket).Order());
        var days = await usage.ReadUsageAsync(new UsageRowQuery(UsageGranularity.Day, 0, first + (100 * 86_400L), AllApplications: false));
        Assert.Equal(Enumerable.Range(13, 17).Select(d => first + (d * 86_400L)), days.Select(r => r.Bucket).Order());

        // The week totals lost exactly the deleted days: a ranking of everything adds up the days that are left.
        var ranked = await usage.AggregateUsageAsync(new UsageRowQuery(UsageGranularity.Day, first, first + (35 * 86_400L), AllApplications: false), ["application"], byBucket: false, histograms: false, countsOnly: true);
        var expected = Enumerable.Range(13, 17).GroupBy(d => $"app-{d % 3}", d => (long)d + 1).ToDictionary(g => g.Key, g => g.Sum());
        Assert.Equal(expected, ranked.Where(r => r.Count != 0).ToDictionary(r => r.Group[0], r => r.Count));
    }

    private static async Task WriteHoursAndDaysAsync(IUsageStore usage, Dictionary<(long Bucket, string Node, string App, int Status), long> hours)
    {
        static UsageRow Row(UsageGranularity granularity, long bucket, string node, string app, int status, long count) => new()
        {
            Granularity = granularity,
            Bucket = bucket,
            Node = node,
            Key = new UsageKey(app, "retail", "items.get", status),
            Count = count,
            Histogram = new LatencyHistogram(),
        };

        var rows = new List<UsageRow>();
        foreach (var app in RankedApps.Append(UsageKey.AllApplications))
        {
            var mine = hours.Where(h => app == UsageKey.AllApplications || h.Key.App == app)
                .GroupBy(h => (h.Key.Bucket, h.Key.Node, h.Key.Status), h => h.Value).ToList();
            rows.AddRange(mine.Select(g => Row(UsageGranularity.Hour, g.Key.Bucket, g.Key.Node, app, g.Key.Status, g.Sum())));
            rows.AddRange(mine.Select(g => Row(UsageGranularity.Minute, g.Key.Bucket + MinutePastTheHour, g.Key.Node, app, g.Key.Status, g.Sum())));
            rows.AddRange(mine.GroupBy(g => (Day: g.Key.Bucket / 86_400 * 86_400, g.Key.Node, g.Key.Status), g => g.Sum())
                .Select(d => Row(UsageGranularity.Day, d.Key.Day, d.Key.Node, app, d.Key.Status, d.Sum())));
        }

        await usage.WriteAsync(rows);
    }

    private static async Task AssertRankingsAsync(IUsageStore usage, Dictionary<(long Bucket, string Node, string App, int Status), long> hours, long first)
    {
        var ranges = new List<(UsageGranularity Granularity, long From, long To)>();
        // Whole days: shorter than a week, a week's edges on both sides, exactly whole weeks, and everything.
        foreach (var (from, to) in new[] { (0, 40), (1, 4), (3, 17), (4, 11), (4, 25), (5, 26), (2, 39), (10, 38), (11, 32) })
        {
            ranges.Add((UsageGranularity.Day, first + (from * 86_400L), first + (to * 86_400L)));
        }

        // Hours: parts of days at both ends around whole days and weeks.
        foreach (var (from, to) in new[] { (5, 980), (80, 700), (100, 130), (11, 957), (96, 435) })
        {
            ranges.Add((UsageGranularity.Hour, first + (from * 3_600L), first + (to * 3_600L)));
        }

        // Minutes: a part of an hour, minutes around whole hours, and minutes around whole hours, days and weeks.
        foreach (var (from, to) in new[] { (5 * 60 + 3, 5 * 60 + 40), (3 * 60 + 6, 3 * 60 + 8), (2 * 60 + 30, 12 * 60 + 7), (75 * 60 + 8, 900 * 60 + 7), (11 * 60 + 7, 957 * 60 + 8) })
        {
            ranges.Add((UsageGranularity.Minute, first + (from * 60L), first + (to * 60L)));
        }

        foreach (var (granularity, from, to) in ranges)
        {
            foreach (var (groupBy, classes) in new (string[], int[]?)[] { (["application"], null), (["application", "statusClass"], null), (["application"], [5]), (["application", "status"], [2, 4]) })
            {
                var query = new UsageRowQuery(granularity, from, to, AllApplications: false) { StatusClasses = classes };
                var ranked = await usage.AggregateUsageAsync(query, groupBy, byBucket: false, histograms: false, countsOnly: true);
                var expected = hours
                    .Where(h => (granularity == UsageGranularity.Minute ? h.Key.Bucket + MinutePastTheHour : h.Key.Bucket) is var bucket && bucket >= from && bucket < to
                        && (classes is null || classes.Contains(h.Key.Status / 100)))
                    .GroupBy(h => string.Join('|', groupBy.Select(d => d switch
                    {
                        "application" => h.Key.App,
                        "status" => h.Key.Status.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        _ => $"{h.Key.Status / 100}xx",
                    })), h => h.Value)
                    .ToDictionary(g => g.Key, g => g.Sum());
                var actual = ranked.Where(r => r.Count != 0).ToDictionary(r => string.Join('|', r.Group), r => r.Count);
                Assert.True(
                    expected.Count == actual.Count && expected.All(e => actual.GetValueOrDefault(e.Key) == e.Value),
                    $"{granularity} [{from}, {to}) by {string.Join(",", groupBy)}: expected {string.Join(" ", expected.OrderBy(e => e.Key).Select(e => $"{e.Key}={e.Value}"))}, got {string.Join(" ", actual.OrderBy(e => e.Key).Select(e => $"{e.Key}={e.Value}"))}");
            }
        }
    }
}
