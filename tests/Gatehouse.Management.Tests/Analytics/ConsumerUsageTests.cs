using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Analytics;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Access;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Tests.Analytics;

/// <summary>
/// The consumer-scoped usage the portal shows: an application's own calls per day, and what is left of each limit of its
/// plan, from the gateway's live counters.
/// </summary>
[Trait("Issue", "19")]
public sealed class ConsumerUsageTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 10, TimeSpan.Zero);
    private readonly string _folder = Directory.CreateTempSubdirectory("gatehouse-consumer-").FullName;

    [Fact]
    public async Task Report_HasTheApplicationsCallsAndTheQuotaLeftInEachWindow()
    {
        await using var scenario = await UsageScenario.StartAsync();
        var (node, yaml, time) = await GoldNodeAsync(scenario, "limits: [ { requests: 10, per: minute }, { requests: 100, per: day } ]");
        await using var _ = node;
        Assert.All(await node.SendAsync("/items/1", 3, UsageScenario.GoldKey), s => Assert.Equal(200, s));
        Assert.All(await node.SendAsync("/items/1", 4, UsageScenario.SilverKey), s => Assert.Equal(200, s));
        await node.FlushAsync();

        // The same report as a plain service (what the portal calls) and through the admin API.
        IConsumerUsage usage = new ConsumerUsage(new UsageAnalytics((IUsageStore)node.Store), app => QuotaReport.For(node.Host.Runtime, app));
        var report = await usage.GetAsync("gold-app", new DateOnly(2026, 2, 28), new DateOnly(2026, 3, 1));

        Assert.Equal([0L, 3L], report.Days.Select(d => d.Calls));
        var minute = Assert.Single(report.Limits, l => l.Period == "minute");
        var day = Assert.Single(report.Limits, l => l.Period == "day");
        Assert.Equal((10, 3L, 7L, false), (minute.Limit, minute.Used, minute.Remaining, minute.Quota));
        Assert.Equal((100, 3L, 97L, true), (day.Limit, day.Used, day.Remaining, day.Quota));
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero), day.ResetsAt);

        const string token = "gha_consumer-usage-test";
        await using var admin = await AdminApi.StartAsync(new AdminApiOptions
        {
            Url = "http://127.0.0.1:0",
            Store = node.Store,
            TokenSha256 = ApiKeyHash.Sha256Hex(token),
            Time = time,
            Limits = app => QuotaReport.For(node.Host.Runtime, app),
            FollowInterval = Timeout.InfiniteTimeSpan,
            ConfigureLogging = l => l.ClearProviders(),
        });
        var stored = await Gatehouse.Management.Revisions.StoreConfig.ImportAsync(node.Store, yaml, _folder, _ => null, "test", "import");
        Assert.Empty(stored.Errors);
        using var client = new HttpClient { BaseAddress = new Uri(admin.Url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var json = JsonNode.Parse(await client.GetStringAsync("/admin/applications/gold-app/usage?from=2026-03-01&to=2026-03-01"))!;
        Assert.Equal(3L, (long)json["days"]![0]!["calls"]!);
        Assert.Contains(json["limits"]!.AsArray(), l => (string)l!["period"]! == "day" && (long)l["remaining"]! == 97);
    }

    [Fact]
    public async Task Report_ListsThePlansLimitsOfSingleOperations_WithWhatIsLeft()
    {
        await using var scenario = await UsageScenario.StartAsync();
        var (node, _, _) = await GoldNodeAsync(scenario, "limits: [ { requests: 10, per: minute } ], operationLimits: { items.get: [ { requests: 5, per: minute }, { requests: 50, per: day } ] }");
        await using var __ = node;
        Assert.All(await node.SendAsync("/items/1", 3, UsageScenario.GoldKey), s => Assert.Equal(200, s));
        Assert.All(await node.SendAsync("/fail", 2, UsageScenario.GoldKey), s => Assert.Equal(503, s));

        var windows = QuotaReport.For(node.Host.Runtime, "gold-app");

        Assert.Equal(["minute", "items.get/minute", "items.get/day"], windows.Select(w => w.Name));
        Assert.Equal((10, 5L), (windows[0].Limit, windows[0].Used));
        Assert.Equal((5, 3L, 2L), (windows[1].Limit, windows[1].Used, windows[1].Remaining));
        Assert.Equal((50, 3L, true), (windows[2].Limit, windows[2].Used, windows[2].Quota));
        // Another plan's application gets none of gold's operation limits (silver has no limits at all).
        Assert.Empty(QuotaReport.For(node.Host.Runtime, "silver-app"));
    }

    // A node of the usage scenario, on a store in this test's folder, whose gold plan has these limits.
    private async Task<(UsageNode Node, string Yaml, FakeTime Time)> GoldNodeAsync(UsageScenario scenario, string goldLimits)
    {
        var time = new FakeTime(Start);
        var yaml = scenario.Yaml.Replace("gold: { include: [ { path: \"/**\" } ] }", $"gold: {{ include: [ {{ path: \"/**\" }} ], {goldLimits} }}", StringComparison.Ordinal);
        Assert.Contains(goldLimits, yaml, StringComparison.Ordinal);
        return (await UsageNode.StartAsync("sqlite:" + Path.Combine(_folder, "gatehouse.db"), "node-a", yaml, time), yaml, time);
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

    [Fact]
    public void Json_GivesASpendLimitsFiguresAsAmounts_AndEveryWindowItsUnit()
    {
        var reset = new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);
        var json = AnalyticsJson.Write(new ConsumerUsageReport("app", [],
        [
            new("day", "day", true, false, 100, 3, reset),
            new("tokens/day", "day", true, false, 100_000, 12, reset) { Unit = "tokens", Model = "fast" },
            new("spend/month", "month", true, false, 50_000_000_000, 12_000_000, reset) { Unit = "cost" },
        ]));

        var limits = json["limits"]!.AsArray();
        Assert.Equal(("requests", 97L), ((string)limits[0]!["unit"]!, (long)limits[0]!["remaining"]!));
        Assert.Equal(("tokens", "fast", 99_988L), ((string)limits[1]!["unit"]!, (string)limits[1]!["model"]!, (long)limits[1]!["remaining"]!));
        Assert.Equal(("cost", 50m, 0.012m, 49.988m), ((string)limits[2]!["unit"]!, (decimal)limits[2]!["limit"]!, (decimal)limits[2]!["used"]!, (decimal)limits[2]!["remaining"]!));
        Assert.Contains("\"used\":0.012", json.ToJsonString(), StringComparison.Ordinal);
    }
}
