using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Analytics;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Usage;
using Microsoft.Data.Sqlite;

namespace Gatehouse.Management.Tests.Analytics;

/// <summary>
/// What a node's usage recording says about itself on <c>/metrics</c>, caused for real on a real SQLite store: records
/// dropped from a full buffer or past the pending rows' bound, flushes the store refused, how long ago the store last took
/// everything, and the rows held. Process metrics: these run alone.
/// </summary>
[Trait("Issue", "19")]
[Collection(ProcessMetricsCollection.Name)]
public sealed class UsageMetricsTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 10, TimeSpan.Zero);
    private readonly string _folder = Directory.CreateTempSubdirectory("gatehouse-usage-metrics-").FullName;

    private string Connection => "sqlite:" + Path.Combine(_folder, "gatehouse.db");

    [Fact]
    public async Task FullBuffer_DropsAndCountsTheRecordsItCannotHold_AndTheRestAreWritten()
    {
        // A fake clock: the aggregator's loops never run on their own, so the buffer (2 records) fills and holds.
        var time = new FakeTime(Start);
        await using var scenario = await UsageScenario.StartAsync();
        await using var node = await UsageNode.StartAsync(Connection, "node-buffer", Yaml(scenario, "bufferSize: 1"), time);

        Assert.All(await node.SendAsync("/items/1", 10, UsageScenario.GoldKey), s => Assert.Equal(200, s));
        // A record is made once the response has ended on the gateway's side, which can be just after the client has it.
        await Wait.UntilAsync(async () => Value(await ScrapeAsync(node), "gatehouse_usage_dropped_total", ("reason", "buffer_full")) == 8, "8 records dropped");
        await node.FlushAsync();

        Assert.Equal(8, node.Host.Telemetry.UsageQueueDropped);
        var written = await new UsageAnalytics((IUsageStore)node.Store).QueryAsync(new AnalyticsQuery { From = Start.AddMinutes(-1), To = Start.AddMinutes(5), Granularity = UsageGranularity.Minute });
        Assert.Equal(2, Assert.Single(written.Series).Total.Count);
    }

    [Fact]
    public async Task PendingRowsAtTheirBound_DropAndCountFurtherRecords_AndTheGaugeShowsTheRowsHeld()
    {
        var time = new FakeTime(Start);
        await using var scenario = await UsageScenario.StartAsync();
        // One request of one key needs 6 rows (minute, hour, day; the application's and the all-applications' ones).
        await using var node = await UsageNode.StartAsync(Connection, "node-rows", Yaml(scenario, "maxPendingRows: 6"), time);

        Assert.All(await node.SendAsync("/items/1", 3, UsageScenario.GoldKey), s => Assert.Equal(200, s));
        Assert.All(await node.SendAsync("/items/1", 4, UsageScenario.SilverKey), s => Assert.Equal(200, s));
        await Wait.UntilAsync(() =>
        {
            node.Host.Telemetry.Usage!.Drain(); // as the aggregator's loop does every quarter second
            return node.Host.Telemetry.Usage.DroppedRows == 4;
        }, "the silver records dropped");
        var samples = await ScrapeAsync(node);

        Assert.Equal(4, Value(samples, "gatehouse_usage_dropped_total", ("reason", "rows_full")));
        Assert.Equal(6, Value(samples, "gatehouse_usage_rows_pending"));
    }

    [Fact]
    public async Task StoreThatFailsFlushes_CountsEachFailure_AndTheFlushAgeGrowsUntilItTakesTheRowsAgain()
    {
        var time = new FakeTime(Start);
        await using var scenario = await UsageScenario.StartAsync();
        await using var node = await UsageNode.StartAsync(Connection, "node-flush", Yaml(scenario, "flushInterval: 5m"), time);
        Assert.All(await node.SendAsync("/items/1", 5, UsageScenario.GoldKey), s => Assert.Equal(200, s));
        await node.FlushAsync();
        var flushed = await ScrapeAsync(node);
        Assert.Equal(0, Value(flushed, "gatehouse_usage_flush_age_seconds"));
        Assert.Equal(0, Value(flushed, "gatehouse_usage_flush_failures_total"));

        // The store loses its table of minute rows (as a database another tool broke would): every write fails.
        await ExecuteAsync("ALTER TABLE usage_minute RENAME TO usage_minute_away");
        Assert.All(await node.SendAsync("/items/1", 5, UsageScenario.GoldKey), s => Assert.Equal(200, s));
        time.Advance(TimeSpan.FromMinutes(4)); // less than the flush interval: only these two flushes run
        Assert.False(await node.Host.Telemetry.Usage!.FlushAsync(CancellationToken.None));
        Assert.False(await node.Host.Telemetry.Usage!.FlushAsync(CancellationToken.None));
        var failing = await ScrapeAsync(node);
        Assert.Equal(2, Value(failing, "gatehouse_usage_flush_failures_total"));
        Assert.Equal(240, Value(failing, "gatehouse_usage_flush_age_seconds"));

        await ExecuteAsync("ALTER TABLE usage_minute_away RENAME TO usage_minute");
        await node.FlushAsync();
        var recovered = await ScrapeAsync(node);
        Assert.Equal(2, Value(recovered, "gatehouse_usage_flush_failures_total"));
        Assert.Equal(0, Value(recovered, "gatehouse_usage_flush_age_seconds"));
        var written = await new UsageAnalytics((IUsageStore)node.Store).QueryAsync(new AnalyticsQuery { From = Start.AddMinutes(-1), To = Start.AddMinutes(10), Granularity = UsageGranularity.Minute });
        Assert.Equal(10, Assert.Single(written.Series).Total.Count);
    }

    // The scenario's config with /metrics on a listener of its own and `usage` set to { flushInterval: 5m, <usage> }.
    private static string Yaml(UsageScenario scenario, string usage) =>
        scenario.Yaml.Replace("    usage: { flushInterval: 5m }",
            $"    metrics: {{ url: \"http://127.0.0.1:0\" }}\n    usage: {{ {(usage.StartsWith("flushInterval", StringComparison.Ordinal) ? usage : "flushInterval: 5m, " + usage)} }}", StringComparison.Ordinal);

    private static async Task<IReadOnlyList<PrometheusSample>> ScrapeAsync(UsageNode node)
    {
        using var client = new HttpClient();
        return await PrometheusParser.ParseAsync(await client.GetStringAsync(node.Host.MetricsUrl + "/metrics"));
    }

    private static double Value(IReadOnlyList<PrometheusSample> samples, string name, (string Name, string Value)? label = null) =>
        samples.SingleOrDefault(s => s.Name == name && (label is not { } l || s.Labels.GetValueOrDefault(l.Name) == l.Value))?.Value ?? 0;

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection("Data Source=" + Path.Combine(_folder, "gatehouse.db"));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

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
