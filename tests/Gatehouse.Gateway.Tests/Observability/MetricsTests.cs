using Gatehouse.Gateway.Tests.Infrastructure;
using OpenTelemetry.Metrics;

namespace Gatehouse.Gateway.Tests.Observability;

/// <summary>/metrics on a listener of its own: valid Prometheus text, OpenTelemetry names, bounded labels.</summary>
[Trait("Issue", "19")]
public sealed class MetricsTests
{
    [Fact]
    public async Task Scrape_AfterTraffic_IsValidPrometheusTextWithRouteLabelledDurationBuckets()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              observability:
                metrics: { url: "http://127.0.0.1:0" }
            services:
              metrics-backend: { targets: [{{backend.Url}}] }
            routes:
              metrics-probe: { path: "/metrics-probe/{id}", service: metrics-backend }
            """);
        for (var i = 0; i < 7; i++)
        {
            using var response = await gateway.Client.GetAsync($"/metrics-probe/{i}?api_key=secret-in-query");
            Assert.True(response.IsSuccessStatusCode);
        }

        using var metricsClient = new HttpClient();
        var text = await metricsClient.GetStringAsync(gateway.Host.MetricsUrl + "/metrics");
        var samples = await PrometheusParser.ParseAsync(text);

        var count = samples.Single(s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.GetValueOrDefault("http_route") == "/metrics-probe/{id}");
        Assert.Equal(7, count.Value);
        Assert.Contains(samples, s => s.Name == "http_server_request_duration_seconds_bucket" && s.Labels.GetValueOrDefault("le") == "+Inf" && s.Labels.GetValueOrDefault("http_route") == "/metrics-probe/{id}");
        Assert.DoesNotContain(samples, s => s.Labels.Keys.Any(k => k.Contains("application", StringComparison.Ordinal) || k.Contains("key", StringComparison.Ordinal)));
        Assert.DoesNotContain("secret-in-query", text, StringComparison.Ordinal);
        Assert.Equal(1, samples.Single(s => s.Name == "gatehouse_upstream_destinations" && s.Labels["gatehouse_service"] == "metrics-backend" && s.Labels["state"] == "available").Value);
        Assert.Equal(0, samples.Single(s => s.Name == "gatehouse_upstream_destinations" && s.Labels["gatehouse_service"] == "metrics-backend" && s.Labels["state"] == "unavailable").Value);
        Assert.Contains(samples, s => s.Name == "gatehouse_config_revision");
    }

    [Fact]
    public async Task LabelValuesAndHelp_WithQuotesBackslashesAndNewlines_ParseBackExactly()
    {
        const string hostile = "\"><script>'; DROP TABLE x; --\\\nline2";
        using var meter = new System.Diagnostics.Metrics.Meter("Gatehouse.Tests.Hostile");
        using var text = new Gatehouse.Gateway.Observability.PrometheusText();
        using var provider = OpenTelemetry.Sdk.CreateMeterProviderBuilder().AddMeter(meter.Name).AddReader(text.Reader).Build();
        var counter = meter.CreateCounter<long>("hostile.requests", "{request}", "Help with \\ and\nnewline");
        counter.Add(5, new KeyValuePair<string, object?>("odd.label", hostile));

        var samples = await PrometheusParser.ParseAsync(text.Scrape());

        var sample = Assert.Single(samples, s => s.Name == "hostile_requests_total");
        Assert.Equal(hostile, sample.Labels["odd_label"]);
        Assert.Equal(5, sample.Value);
    }
}
