using System.Diagnostics;
using System.Text;
using System.Xml.Linq;
using Gatehouse.Management.Analytics;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Usage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Tests.Analytics;

/// <summary>Runs alone: it reads process-wide metrics, which other tests' gateways would add to.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMetricsCollection
{
    public const string Name = "Process metrics";
}

/// <summary>10,000 distinct operations leave the store, the analytics API, the charts and /metrics intact and bounded.</summary>
[Trait("Issue", "19")]
[Collection(ProcessMetricsCollection.Name)]
public sealed class ManyOperationsTests : IDisposable
{
    private const int Operations = 10_000;
    private readonly string _folder = Directory.CreateTempSubdirectory("gatehouse-many-ops-").FullName;

    [Fact]
    public async Task TenThousandOperations_OneRequestEach_AreCountedExactly_AndMetricsStayBounded()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var backend = builder.Build();
        backend.MapGet("/ops/{n}", (HttpContext c) => c.Response.WriteAsync("ok"));
        await backend.StartAsync();

        var yaml = new StringBuilder($"version: 1\nservices:\n  many:\n    targets: [{backend.Urls.First()}]\n    publish: {{ basePath: / }}\n    operations:\n");
        for (var i = 0; i < Operations; i++)
        {
            yaml.Append($"      op{i}: {{ method: GET, path: /ops/{i} }}\n");
        }

        var time = new FakeTime(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var connection = "sqlite:" + Path.Combine(_folder, "gatehouse.db");
        await using var node = await UsageNode.StartAsync(connection, "node-a", yaml.ToString(), time);
        var next = -1;
        await Parallel.ForEachAsync(Enumerable.Range(0, 8), async (_, ct) =>
        {
            for (var i = Interlocked.Increment(ref next); i < Operations; i = Interlocked.Increment(ref next))
            {
                using var response = await node.Client.GetAsync($"/ops/{i}", ct);
                Assert.Equal(200, (int)response.StatusCode);
            }
        });
        await node.FlushAsync();

        var analytics = new UsageAnalytics((IUsageStore)node.Store);
        var query = new AnalyticsQuery { From = time.GetUtcNow().AddHours(-1), To = time.GetUtcNow().AddHours(1), Granularity = UsageGranularity.Minute, GroupBy = ["operation"], Limit = 1000 };
        var result = await analytics.QueryAsync(query);
        Assert.Equal(1001, result.Series.Count);
        Assert.True(result.Truncated);
        Assert.Equal(Operations, result.Series.Sum(s => s.Total.Count));
        Assert.Equal(Operations - 1000, result.Series.Single(s => s.Other).Total.Count);
        Assert.NotNull(XElement.Parse(Gatehouse.Management.Analytics.Charts.SvgChart.Bars("ops", "Top operations", [.. result.Series.Take(10).Select(s => new Gatehouse.Management.Analytics.Charts.ChartBar(s.Group["operation"], s.Total.Count))], "requests")));

        var samples = await Gatehouse.Gateway.Tests.Infrastructure.PrometheusParser.ParseAsync(node.Host.Metrics!.Scrape());
        // The backend runs in this process too, and ASP.NET Core labels its requests with its own route, /ops/{n}.
        var counts = samples.Where(s => s.Name == "http_server_request_duration_seconds_count"
            && ((s.Labels.TryGetValue("http_route", out var route) && route != "/ops/{n}") || s.Labels.ContainsKey("otel_metric_overflow"))).ToList();
        Assert.Equal(Operations, counts.Sum(s => s.Value));
        Assert.InRange(counts.Count, 100, 2001);
        Assert.Contains(counts, s => s.Labels.GetValueOrDefault("otel_metric_overflow") == "true");
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
