using System.Text.Json.Nodes;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Analytics;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Admin;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Usage;
using Microsoft.Data.Sqlite;

namespace Gatehouse.Management.Tests.Analytics;

/// <summary>
/// Usage recorded by real gateway nodes into a real store and read back through the analytics API: counts are exact across
/// nodes, minute boundaries and restarts; a store that is down loses nothing it can keep.
/// </summary>
[Trait("Issue", "19")]
public abstract class UsageAnalyticsTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 10, TimeSpan.Zero);

    protected abstract Task<string> CreateEmptyStoreAsync();

    [Fact]
    public async Task TwoNodes_AcrossAMinuteBoundaryAndARestart_CountEveryRequestExactly()
    {
        var connection = await CreateEmptyStoreAsync();
        var time = new FakeTime(Start);
        await using var scenario = await UsageScenario.StartAsync();
        var a = await UsageNode.StartAsync(connection, "node-a", scenario.Yaml, time);
        await using var b = await UsageNode.StartAsync(connection, "node-b", scenario.Yaml, time);
        try
        {
            Assert.All(await a.SendAsync("/items/1", 30, UsageScenario.GoldKey), s => Assert.Equal(200, s));
            Assert.All(await b.SendAsync("/items/2", 20, UsageScenario.SilverKey), s => Assert.Equal(200, s));
            Assert.All(await a.SendAsync("/fail", 5, UsageScenario.SilverKey), s => Assert.Equal(403, s));
            Assert.All(await b.SendAsync("/fail", 4, UsageScenario.GoldKey), s => Assert.Equal(503, s));
            Assert.All(await a.SendAsync("/items/3", 3), s => Assert.Equal(401, s));

            time.Advance(TimeSpan.FromMinutes(1));
            await a.SendAsync("/items/1", 7, UsageScenario.GoldKey);
            await b.SendAsync("/items/1", 6, UsageScenario.GoldKey);
            await a.FlushAsync();
            await b.FlushAsync();
        }
        finally
        {
            // A graceful stop writes what the node still held.
            await a.DisposeAsync();
        }

        await using (var again = await UsageNode.StartAsync(connection, "node-a", scenario.Yaml, time))
        {
            await again.SendAsync("/items/9", 8, UsageScenario.GoldKey);
            await again.FlushAsync();
        }

        await using var admin = await AdminHarness.StartAsync(connection, now: Start.AddMinutes(5));
        var minute = await GetAsync(admin, "/admin/analytics?from=2026-03-01T11:59:00Z&to=2026-03-01T12:05:00Z&granularity=minute&groupBy=application,statusClass");
        var bySeries = Series(minute);
        Assert.Equal(51, bySeries["gold-app|2xx"]);
        Assert.Equal(20, bySeries["silver-app|2xx"]);
        Assert.Equal(5, bySeries["silver-app|4xx"]);
        Assert.Equal(4, bySeries["gold-app|5xx"]);
        Assert.Equal(3, bySeries["|4xx"]);
        Assert.Equal(83, bySeries.Values.Sum());

        var perMinute = await GetAsync(admin, "/admin/analytics?from=2026-03-01T12:00:00Z&to=2026-03-01T12:02:00Z&granularity=minute");
        var points = perMinute["series"]![0]!["points"]!.AsArray();
        Assert.Equal(["2026-03-01T12:00:00Z", "2026-03-01T12:01:00Z"], points.Select(p => (string)p!["time"]!));
        Assert.Equal([62L, 21L], points.Select(p => (long)p!["count"]!));
        Assert.Equal(4, (long)points[0]!["errors"]!);
        Assert.Equal(8, (long)points[0]!["clientErrors"]!);

        foreach (var granularity in new[] { "hour", "day" })
        {
            var coarse = await GetAsync(admin, $"/admin/analytics?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z&granularity={granularity}&groupBy=node");
            var nodes = Series(coarse);
            Assert.Equal(83, nodes.Values.Sum());
            Assert.Equal(30 + 5 + 3 + 7 + 8, nodes["node-a"]);
            Assert.Equal(20 + 4 + 6, nodes["node-b"]);
        }
    }

    [Fact]
    public async Task StoreDown_RequestsAreServed_RowsAreKeptAndWrittenWhenItAnswersAgain()
    {
        var connection = await CreateEmptyStoreAsync();
        var time = new FakeTime(Start);
        await using var scenario = await UsageScenario.StartAsync();
        await using var store = await ConfigStores.OpenAsync(connection, time);
        var flaky = new FlakySink((IUsageSink)store) { Down = true };
        await using (var node = await UsageNode.StartAsync(connection, "node-a", scenario.Yaml, time, flaky))
        {
            Assert.All(await node.SendAsync("/items/1", 25, UsageScenario.GoldKey), s => Assert.Equal(200, s));
            Assert.False(await node.Host.Telemetry.Usage!.FlushAsync(CancellationToken.None));
            Assert.False(await node.Host.Telemetry.Usage!.FlushAsync(CancellationToken.None));
            Assert.Equal(2, node.Host.Telemetry.Usage.ConsecutiveFailures);
            Assert.All(await node.SendAsync("/items/1", 5, UsageScenario.GoldKey), s => Assert.Equal(200, s));

            flaky.Down = false;
            await node.FlushAsync();
            Assert.Equal(0, node.Host.Telemetry.Usage.ConsecutiveFailures);
        }

        var result = await new UsageAnalytics((IUsageStore)store).QueryAsync(new AnalyticsQuery
        {
            From = Start.AddMinutes(-1),
            To = Start.AddMinutes(5),
            Granularity = UsageGranularity.Minute,
        });
        Assert.Equal(30, Assert.Single(result.Series).Total.Count);
    }

    [Fact]
    public async Task PendingRowsAtTheirBound_FurtherRowsAreDroppedAndCounted_NeverBlocking()
    {
        var connection = await CreateEmptyStoreAsync();
        var time = new FakeTime(Start);
        await using var scenario = await UsageScenario.StartAsync();
        await using var store = await ConfigStores.OpenAsync(connection, time);
        var flaky = new FlakySink((IUsageSink)store) { Down = true };
        // One request of one key needs 6 rows (minute, hour, day; the application's and the all-applications' ones).
        var yaml = scenario.Yaml.Replace("usage: { flushInterval: 5m }", "usage: { flushInterval: 5m, maxPendingRows: 6 }", StringComparison.Ordinal);
        await using var node = await UsageNode.StartAsync(connection, "node-a", yaml, time, flaky);

        Assert.All(await node.SendAsync("/items/1", 3, UsageScenario.GoldKey), s => Assert.Equal(200, s));
        Assert.All(await node.SendAsync("/items/1", 4, UsageScenario.SilverKey), s => Assert.Equal(200, s));
        node.Host.Telemetry.Usage!.Drain();

        Assert.Equal(4, node.Host.Telemetry.Usage.DroppedRows);
        Assert.Equal(6, node.Host.Telemetry.Usage.PendingRows);
    }

    [Fact]
    public async Task Retention_DeletesMinutesAndHoursPastTheirAge_KeepsDays()
    {
        var connection = await CreateEmptyStoreAsync();
        await using var store = await ConfigStores.OpenAsync(connection, TimeProvider.System);
        var sink = (IUsageStore)store;
        var now = Start.ToUnixTimeSeconds();
        await sink.WriteAsync([
            Row(UsageGranularity.Minute, now - (8 * 86_400), 1),
            Row(UsageGranularity.Minute, now - (6 * 86_400), 2),
            Row(UsageGranularity.Hour, now - (91 * 86_400), 3),
            Row(UsageGranularity.Hour, now - (89 * 86_400), 4),
            Row(UsageGranularity.Day, now - (1000 * 86_400), 5),
        ]);
        var time = new FakeTime(Start);
        await using var scenario = await UsageScenario.StartAsync();
        IReadOnlyList<UsageRow> minutes = [], hours = [], days = [];
        await using (var node = await UsageNode.StartAsync(connection, "node-a", scenario.Yaml, time))
        {
            // A flush starts retention, which runs beside the flushes (a stop would end it): wait for it while the node runs.
            await node.FlushAsync();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            do
            {
                minutes = await sink.ReadUsageAsync(new UsageRowQuery(UsageGranularity.Minute, 0, long.MaxValue, AllApplications: false));
                hours = await sink.ReadUsageAsync(new UsageRowQuery(UsageGranularity.Hour, 0, long.MaxValue, AllApplications: false));
                days = await sink.ReadUsageAsync(new UsageRowQuery(UsageGranularity.Day, 0, long.MaxValue, AllApplications: false));
                if (minutes.Count == 1 && hours.Count == 1)
                {
                    break;
                }

                await Task.Delay(50);
            }
            while (DateTime.UtcNow < deadline);
        }

        Assert.Equal([2L], minutes.Select(r => r.Count));
        Assert.Equal([4L], hours.Select(r => r.Count));
        Assert.Equal([5L], days.Select(r => r.Count));
    }

    [Fact]
    public async Task HostileNames_AreStoredAndAnsweredAsData()
    {
        var connection = await CreateEmptyStoreAsync();
        await using var admin = await AdminHarness.StartAsync(connection, now: Start.AddMinutes(1));
        var sink = (IUsageStore)admin.Store;
        string[] names = ["\"><script>alert(1)</script>", "'; DROP TABLE usage_minute; --", "a\u0000b\nc"];
        var bucket = UsageBuckets.Start(UsageGranularity.Minute, Start.ToUnixTimeSeconds());
        await sink.WriteAsync([.. names.Select((name, i) => Row(UsageGranularity.Minute, bucket, i + 1, application: name, operation: name))]);

        var result = await GetAsync(admin, "/admin/analytics?from=2026-03-01T12:00:00Z&to=2026-03-01T12:01:00Z&groupBy=application,operation");
        var series = Series(result);
        Assert.Equal(3, series.Count);
        for (var i = 0; i < names.Length; i++)
        {
            var stored = names[i].Replace('\0', '\uFFFD'); // PostgreSQL keeps no NUL in text; both stores write U+FFFD
            Assert.Equal(i + 1, series[$"{stored}|{stored}"]);
        }

        Assert.Equal(3, (await sink.ReadUsageAsync(new UsageRowQuery(UsageGranularity.Minute, 0, long.MaxValue, AllApplications: false))).Count);
    }

    [Fact]
    public async Task NoneFilter_PicksTheCallsWithoutAnApplicationOrOperation_AnEmptyValueIsNoFilter()
    {
        var connection = await CreateEmptyStoreAsync();
        await using var admin = await AdminHarness.StartAsync(connection, now: Start.AddMinutes(1));
        var bucket = UsageBuckets.Start(UsageGranularity.Minute, Start.ToUnixTimeSeconds());
        await ((IUsageStore)admin.Store).WriteAsync(
        [
            Row(UsageGranularity.Minute, bucket, 3, application: "", operation: "items.get"),
            Row(UsageGranularity.Minute, bucket, 5, application: "app-a", operation: "items.get"),
            Row(UsageGranularity.Minute, bucket, 7, application: "", operation: ""),
        ]);

        const string Range = "/admin/analytics?from=2026-03-01T12:00:00Z&to=2026-03-01T12:01:00Z&groupBy=application,operation";
        Assert.Equal(new Dictionary<string, long> { ["|items.get"] = 3, ["|"] = 7 }, Series(await GetAsync(admin, Range + "&application=(none)")));
        Assert.Equal(new Dictionary<string, long> { ["|"] = 7 }, Series(await GetAsync(admin, Range + "&operation=(none)")));
        Assert.Equal(new Dictionary<string, long> { ["app-a|items.get"] = 5, ["|"] = 7 }, Series(await GetAsync(admin, Range + "&application=app-a,(none)&operation=(none)&status=200"))
            .Concat(Series(await GetAsync(admin, Range + "&application=app-a&operation=items.get"))).ToDictionary());
        Assert.Equal(3, Series(await GetAsync(admin, Range + "&application=")).Count);
    }

    [Fact]
    public async Task BadQueries_AreProblemsThatSayWhatToWrite()
    {
        var connection = await CreateEmptyStoreAsync();
        await using var admin = await AdminHarness.StartAsync(connection, now: Start);
        foreach (var (query, expected) in new[]
        {
            ("from=yesterday", "not a time"),
            ("from=2026-03-01T12:00:00Z&to=2026-03-01T11:00:00Z", "before 'to'"),
            ("granularity=week", "minute, hour or day"),
            ("groupBy=colour", "not one of"),
            ("from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&granularity=minute", "more than 10000"),
            ("status=abc", "HTTP status codes"),
            ("limit=0", "from 1 to 1000"),
        })
        {
            using var response = await admin.Client.GetAsync("/admin/analytics?" + query);
            Assert.Equal(400, (int)response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            var problem = await AdminHarness.ReadObjectAsync(response);
            Assert.Equal("urn:gatehouse:problem:analytics-bad-query", (string)problem["type"]!);
            Assert.Contains(expected, (string)problem["detail"]!, StringComparison.Ordinal);
        }
    }

    internal static UsageRow Row(UsageGranularity granularity, long bucket, long count, string application = "app", string operation = "op")
    {
        var histogram = new LatencyHistogram();
        histogram.Add(LatencyHistogram.BucketOf(1000), count);
        return new UsageRow
        {
            Granularity = granularity,
            Bucket = UsageBuckets.Start(granularity, bucket),
            Node = "seed",
            Key = new UsageKey(application, "plan", operation, 200),
            Count = count,
            LatencySumMicros = count * 1000,
            Histogram = histogram,
        };
    }

    private static Task<JsonObject> GetAsync(AdminHarness admin, string path) => AnalyticsAnswers.GetAsync(admin, path);

    private static Dictionary<string, long> Series(JsonObject result) => AnalyticsAnswers.Series(result);

    [Fact]
    public async Task TopApplications_AreRankedByTheirCounts_WithAStatusFilter_AndTheRestIsOneOtherSeries()
    {
        var connection = await CreateEmptyStoreAsync();
        await using var store = await ConfigStores.OpenAsync(connection, TimeProvider.System);
        var usage = (IUsageStore)store;
        var day = UsageBuckets.Start(UsageGranularity.Day, Start.ToUnixTimeSeconds());
        var rows = new List<UsageRow>();
        void Add(string app, int status, long count, int dayOffset, string node = "node-a")
        {
            foreach (var application in new[] { app, UsageKey.AllApplications })
            {
                var histogram = new Gatehouse.Model.Usage.LatencyHistogram();
                histogram.Add(Gatehouse.Model.Usage.LatencyHistogram.BucketOf(1_000), count);
                rows.Add(new UsageRow
                {
                    Granularity = UsageGranularity.Day, Bucket = day - (dayOffset * 86_400L), Node = node,
                    Key = new UsageKey(application, "retail", "items.get", status), Count = count, LatencySumMicros = count * 1_000, Histogram = histogram,
                });
            }
        }

        // 5xx counts: app-c 9 (over two nodes and two days), app-a 7, app-b 5, app-d 1; app-e only 2xx.
        Add("app-a", 503, 7, 0);
        Add("app-b", 502, 5, 1);
        Add("app-c", 500, 4, 0);
        Add("app-c", 500, 5, 2, "node-b");
        Add("app-d", 504, 1, 0);
        Add("app-e", 200, 50, 0);
        Add("app-a", 200, 40, 1);
        // The all-applications rows of one (bucket, node, key) add up, as the aggregator writes them.
        var all = rows.Where(r => r.Key.Application == UsageKey.AllApplications).GroupBy(r => (r.Bucket, r.Node, r.Key)).Select(g => g.First() with { Count = g.Sum(r => r.Count) });
        await usage.WriteAsync(rows.Where(r => r.Key.Application != UsageKey.AllApplications).Concat(all).ToList());

        var result = await new UsageAnalytics(usage).QueryAsync(new AnalyticsQuery
        {
            From = DateTimeOffset.FromUnixTimeSeconds(day).AddDays(-5),
            To = DateTimeOffset.FromUnixTimeSeconds(day).AddDays(1),
            Granularity = UsageGranularity.Day,
            GroupBy = ["application"],
            Filters = new Dictionary<string, IReadOnlyList<string>> { ["statusClass"] = ["5xx"] },
            Limit = 2,
        });

        Assert.True(result.Truncated);
        Assert.Equal(["app-c", "app-a"], result.Series.Where(s => !s.Other).Select(s => s.Group["application"]));
        Assert.Equal([9L, 7L], result.Series.Where(s => !s.Other).Select(s => s.Total.Count));
        Assert.Equal(6, Assert.Single(result.Series, s => s.Other).Total.Count);
    }

    /// <summary>The real store, except that while <see cref="Down"/> every call fails as an unreachable database would.</summary>
    private sealed class FlakySink(IUsageSink inner) : IUsageSink
    {
        public volatile bool Down;

        public Task<IReadOnlyList<UsageRow>> LoadAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default) =>
            Down ? Task.FromException<IReadOnlyList<UsageRow>>(new IOException("store unreachable")) : inner.LoadAsync(node, buckets, cancellationToken);

        public Task WriteAsync(IReadOnlyList<UsageRow> rows, CancellationToken cancellationToken = default) =>
            Down ? Task.FromException(new IOException("store unreachable")) : inner.WriteAsync(rows, cancellationToken);

        public Task<int> DeleteBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default) =>
            Down ? Task.FromException<int>(new IOException("store unreachable")) : inner.DeleteBeforeAsync(granularity, before, cancellationToken);
    }
}

/// <summary>Usage analytics on a SQLite file.</summary>
public sealed class SqliteUsageAnalyticsTests : UsageAnalyticsTests, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gatehouse-usage-").FullName;

    protected override Task<string> CreateEmptyStoreAsync() => Task.FromResult("sqlite:" + Path.Combine(_folder, "gatehouse.db"));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Usage analytics on PostgreSQL, a fresh database per test.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresUsageAnalyticsTests(PostgresCluster cluster) : UsageAnalyticsTests
{
    protected override Task<string> CreateEmptyStoreAsync() => cluster.CreateDatabaseAsync();
}
