using System.Text;
using Gatehouse.Gateway.Observability;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Observability;

/// <summary>
/// The per-request metrics aggregated off the request path: Prometheus's bucket semantics (a value on a bound is in that
/// bound's bucket), the labels ASP.NET Core's hosting meter wrote, the active-requests gauge, the series cap and the
/// queue that drops and counts.
/// </summary>
[Trait("Issue", "19")]
public sealed class RequestMetricsTests
{
    private static HttpRequest Request(string method = "GET", bool https = false, string protocol = "HTTP/1.1")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = https ? "https" : "http";
        context.Request.Protocol = protocol;
        return context.Request;
    }

    private static async Task<IReadOnlyList<PrometheusSample>> ScrapeAsync(RequestMetrics metrics)
    {
        var text = new StringBuilder();
        metrics.WriteTo(text);
        return await PrometheusParser.ParseAsync(text.ToString());
    }

    private static long Ticks(double seconds) => (long)Math.Round(seconds * TimeSpan.TicksPerSecond);

    [Fact]
    public async Task Durations_FallIntoTheBucketOfTheFirstBoundAtOrAboveThem_WithTheHostingMetersLabels()
    {
        await using var metrics = new RequestMetrics();
        foreach (var seconds in new[] { 0.001, 0.005, 0.0051, 0.3, 11.0 })
        {
            var request = Request();
            metrics.Ended(metrics.Began(request), request, "/items/{id}", "gold", 200, Ticks(seconds), null);
        }

        var post = Request("POST", https: true, protocol: "HTTP/2");
        metrics.Ended(metrics.Began(post), post, null, "", 500, Ticks(0.02), "System.InvalidOperationException");

        var samples = await ScrapeAsync(metrics);
        double Bucket(string le) => samples.Single(s => s.Name == "http_server_request_duration_seconds_bucket" && s.Labels.GetValueOrDefault("http_route") == "/items/{id}" && s.Labels["le"] == le).Value;
        Assert.Equal((2, 3, 3, 4, 4, 5), (Bucket("0.005"), Bucket("0.01"), Bucket("0.25"), Bucket("0.5"), Bucket("10"), Bucket("+Inf")));
        var count = samples.Single(s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.GetValueOrDefault("http_route") == "/items/{id}");
        Assert.Equal(5, count.Value);
        Assert.Equal(
            new Dictionary<string, string> { ["gatehouse_plan"] = "gold", ["http_request_method"] = "GET", ["http_response_status_code"] = "200", ["http_route"] = "/items/{id}", ["network_protocol_version"] = "1.1", ["url_scheme"] = "http" },
            count.Labels);
        Assert.Equal(11.3111, samples.Single(s => s.Name == "http_server_request_duration_seconds_sum" && s.Labels.GetValueOrDefault("http_route") == "/items/{id}").Value, 6);

        // A request that matched no route and failed: no route or plan label, its error's type, HTTP/2 over TLS.
        var failed = samples.Single(s => s.Name == "http_server_request_duration_seconds_count" && !s.Labels.ContainsKey("http_route"));
        Assert.Equal(
            new Dictionary<string, string> { ["error_type"] = "System.InvalidOperationException", ["http_request_method"] = "POST", ["http_response_status_code"] = "500", ["network_protocol_version"] = "2", ["url_scheme"] = "https" },
            failed.Labels);
    }

    [Fact]
    public async Task ActiveRequests_CountWhatBeganAndHasNotEnded_ByMethodAndScheme_AndUnknownMethodsAsOther()
    {
        await using var metrics = new RequestMetrics();
        var get = Request();
        var slot = metrics.Began(get);
        var odd = Request("BREW");
        var oddSlot = metrics.Began(odd);

        var during = await ScrapeAsync(metrics);
        double Active(IReadOnlyList<PrometheusSample> samples, string method) =>
            samples.Single(s => s.Name == "http_server_active_requests" && s.Labels["http_request_method"] == method && s.Labels["url_scheme"] == "http").Value;
        Assert.Equal((1, 1), (Active(during, "GET"), Active(during, "_OTHER")));
        Assert.DoesNotContain(during, s => s.Name == "http_server_active_requests" && s.Labels["http_request_method"] == "POST");

        metrics.Ended(slot, get, "/a", "", 200, Ticks(0.001), null);
        metrics.Ended(oddSlot, odd, "/a", "", 405, Ticks(0.001), null);
        var after = await ScrapeAsync(metrics);
        Assert.Equal((0, 0), (Active(after, "GET"), Active(after, "_OTHER")));
        Assert.Contains(after, s => s.Name == "http_server_request_duration_seconds_count" && s.Labels["http_request_method"] == "_OTHER" && s.Labels["http_response_status_code"] == "405");
    }

    [Fact]
    public async Task UpstreamAttempts_ByServiceAndStatus_OrByErrorWithoutAStatus()
    {
        await using var metrics = new RequestMetrics();
        metrics.Upstream("shop", Ticks(0.002), 200, null);
        metrics.Upstream("shop", Ticks(0.004), 200, null);
        metrics.Upstream("shop", Ticks(1.5), 0, "timeout");

        var samples = await ScrapeAsync(metrics);
        var counts = samples.Where(s => s.Name == "gatehouse_upstream_duration_seconds_count").ToList();
        Assert.Equal(2, counts.Single(s => s.Labels.GetValueOrDefault("http_response_status_code") == "200" && s.Labels["gatehouse_service"] == "shop").Value);
        var timeout = counts.Single(s => s.Labels.GetValueOrDefault("error_type") == "timeout");
        Assert.False(timeout.Labels.ContainsKey("http_response_status_code"));
        Assert.Equal(0, samples.Single(s => s.Name == "gatehouse_upstream_duration_seconds_bucket" && s.Labels.GetValueOrDefault("error_type") == "timeout" && s.Labels["le"] == "1").Value);
        Assert.Equal(1, samples.Single(s => s.Name == "gatehouse_upstream_duration_seconds_bucket" && s.Labels.GetValueOrDefault("error_type") == "timeout" && s.Labels["le"] == "2.5").Value);
        Assert.DoesNotContain(samples, s => s.Name.StartsWith("http_server_request_duration", StringComparison.Ordinal) && s.Name.EndsWith("_count", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PastTheSeriesCap_FurtherLabelSetsAddUpInOneOverflowSeries()
    {
        await using var metrics = new RequestMetrics(maxSeries: 2);
        foreach (var route in new[] { "/a", "/b", "/c", "/d", "/a" })
        {
            var request = Request();
            metrics.Ended(metrics.Began(request), request, route, "", 200, Ticks(0.001), null);
        }

        var counts = (await ScrapeAsync(metrics)).Where(s => s.Name == "http_server_request_duration_seconds_count").ToList();
        Assert.Equal(3, counts.Count);
        Assert.Equal(2, counts.Single(s => s.Labels.GetValueOrDefault("http_route") == "/a").Value);
        Assert.Equal(1, counts.Single(s => s.Labels.GetValueOrDefault("http_route") == "/b").Value);
        Assert.Equal(2, counts.Single(s => s.Labels.GetValueOrDefault("otel_metric_overflow") == "true").Value);
    }

    [Fact]
    public async Task AFullQueue_DropsAndCounts_NeverWaits()
    {
        // A queue of 2 that nothing drains between the calls (no background loop: only a scrape adds up).
        await using var metrics = new RequestMetrics(bufferSize: 2, drainInterval: Timeout.InfiniteTimeSpan);
        for (var i = 0; i < 5; i++)
        {
            metrics.Upstream("shop", Ticks(0.001), 200, null);
        }

        Assert.Equal(3, metrics.Dropped);
        var samples = await ScrapeAsync(metrics);
        Assert.Equal(2, samples.Single(s => s.Name == "gatehouse_upstream_duration_seconds_count").Value);
    }

    [Fact]
    public async Task TheBackgroundLoop_EmptiesTheQueueWithoutAScrape()
    {
        await using var metrics = new RequestMetrics(bufferSize: 4, drainInterval: TimeSpan.FromMilliseconds(20));
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 4; i++)
            {
                metrics.Upstream("shop", Ticks(0.001), 200, null);
            }

            // The loop runs every 20 ms; a scrape would add up too, so none is made before the queue is empty.
            for (var waited = 0; metrics.Queued > 0 && waited < 250; waited++)
            {
                await Task.Delay(20);
            }

            Assert.Equal(0, metrics.Queued);
        }

        Assert.Equal(0, metrics.Dropped);
        Assert.Equal(12, (await ScrapeAsync(metrics)).Single(s => s.Name == "gatehouse_upstream_duration_seconds_count").Value);
    }
}
