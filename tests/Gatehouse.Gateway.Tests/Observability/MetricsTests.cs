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
              metrics-dead: { targets: [ "{{UnusedLoopbackUrl()}}" ] }
            routes:
              metrics-probe: { path: "/metrics-probe/{id}", service: metrics-backend }
              metrics-dead: { path: "/metrics-dead", service: metrics-dead }
            """);
        using (var dead = await gateway.Client.GetAsync("/metrics-dead"))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadGateway, dead.StatusCode);
        }

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

        // Upstream time per service and status, one recording per attempt; HttpClient's per-request instruments are
        // dropped (they put a second async layer under every upstream call), and so is its open-connections counter,
        // which a pooled connection's turn from idle to active and back records on every call.
        Assert.Equal(7, samples.Single(s => s.Name == "gatehouse_upstream_duration_seconds_count" && s.Labels.GetValueOrDefault("gatehouse_service") == "metrics-backend" && s.Labels.GetValueOrDefault("http_response_status_code") == "200").Value);
        Assert.Equal(1, samples.Single(s => s.Name == "gatehouse_upstream_duration_seconds_count" && s.Labels.GetValueOrDefault("gatehouse_service") == "metrics-dead" && s.Labels.GetValueOrDefault("error_type") == "connection_error").Value);
        Assert.DoesNotContain(samples, s => s.Name.StartsWith("http_client_request_duration", StringComparison.Ordinal) || s.Name.StartsWith("http_client_active_requests", StringComparison.Ordinal));
        Assert.DoesNotContain(samples, s => s.Name == "http_client_open_connections");
        Assert.DoesNotContain(samples, s => s.Name.StartsWith("http_client_request_time_in_queue", StringComparison.Ordinal));
        // The request metrics are Gatehouse's own, off the request path; the hosting meter's would be a second family.
        Assert.Single(samples.Select(s => s.Family).Distinct(), f => f == "http_server_request_duration_seconds");
        Assert.Contains(samples, s => s.Name == "http_server_active_requests" && s.Labels["http_request_method"] == "GET" && s.Value == 0);
        Assert.Contains(samples, s => s.Name == "kestrel_active_connections");
    }

    [Fact]
    public async Task RetriedRequests_CountEveryAttemptOnce_WithItsOwnStatus_AndTheRequestOnce()
    {
        // Every other call fails: each request's first attempt gets 503, its retry 200. Both attempts must reach the
        // scrape, each once with its own status, and the request itself once.
        var calls = 0;
        await using var backend = await TestBackend.StartAsync(context =>
        {
            context.Response.StatusCode = Interlocked.Increment(ref calls) % 2 == 1 ? 503 : 200;
            return Task.CompletedTask;
        });
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              observability:
                metrics: { url: "http://127.0.0.1:0" }
            services:
              retried:
                targets: [{{backend.Url}}]
                retry: { attempts: 2, backOff: 0s, maxBackOff: 0s }
                retryBudget: { activePercent: 100, ratePercent: 100, minPerSecond: 1000 }
            routes:
              retried: { path: "/retried", service: retried }
            """);
        for (var i = 0; i < 5; i++)
        {
            using var response = await gateway.Client.GetAsync("/retried");
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        }

        using var metricsClient = new HttpClient();
        IReadOnlyList<PrometheusSample> samples = [];
        for (var waited = 0; waited < 50; waited++)
        {
            // The records are made once the response has ended on the gateway's side, which can be just after the client has it.
            samples = await PrometheusParser.ParseAsync(await metricsClient.GetStringAsync(gateway.Host.MetricsUrl + "/metrics"));
            if (samples.Any(s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.GetValueOrDefault("http_route") == "/retried" && s.Value == 5))
            {
                break;
            }

            await Task.Delay(20);
        }

        Assert.Equal(5, samples.Single(s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.GetValueOrDefault("http_route") == "/retried").Value);
        Assert.Equal(5, samples.Single(s => s.Name == "gatehouse_upstream_duration_seconds_count" && s.Labels.GetValueOrDefault("gatehouse_service") == "retried" && s.Labels.GetValueOrDefault("http_response_status_code") == "503").Value);
        Assert.Equal(5, samples.Single(s => s.Name == "gatehouse_upstream_duration_seconds_count" && s.Labels.GetValueOrDefault("gatehouse_service") == "retried" && s.Labels.GetValueOrDefault("http_response_status_code") == "200").Value);
        Assert.Equal(10, calls);
    }

    [Fact]
    [Trait("Issue", "20")]
    public async Task Scrape_ShowsCircuitStatesAndPanic_ForServicesWithOutlierDetection_Only()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              observability:
                metrics: { url: "http://127.0.0.1:0" }
            services:
              circuits-pair:
                targets: [ "{{backend.Url}}", "{{UnusedLoopbackUrl()}}" ]
                outlierDetection: { consecutiveFailures: 1, maxEjectedPercent: 100, panicThresholdPercent: 60 }
              circuits-plain: { targets: [{{backend.Url}}] }
            routes:
              circuits-pair: { path: "/circuits-pair", service: circuits-pair }
              circuits-plain: { path: "/circuits-plain", service: circuits-plain }
            """);
        using var metricsClient = new HttpClient();
        async Task<IReadOnlyList<PrometheusSample>> ScrapeAsync() => await PrometheusParser.ParseAsync(await metricsClient.GetStringAsync(gateway.Host.MetricsUrl + "/metrics"));
        static double Circuit(IReadOnlyList<PrometheusSample> samples, string state) =>
            samples.Single(s => s.Name == "gatehouse_outliers_circuits" && s.Labels["gatehouse_service"] == "circuits-pair" && s.Labels["state"] == state).Value;

        var before = await ScrapeAsync();
        Assert.Equal((2, 0, 0), (Circuit(before, "closed"), Circuit(before, "open"), Circuit(before, "half_open")));
        Assert.Equal(0, before.Single(s => s.Name == "gatehouse_outliers_panic" && s.Labels["gatehouse_service"] == "circuits-pair").Value);
        Assert.DoesNotContain(before, s => s.Name.StartsWith("gatehouse_outliers_", StringComparison.Ordinal) && s.Labels.GetValueOrDefault("gatehouse_service") == "circuits-plain");

        // Round robin sends one of the first two requests to the dead target: one failure ejects it, and one of two
        // destinations available is below the 60% threshold, so the next pick judges the service in panic.
        for (var i = 0; i < 4; i++)
        {
            using var response = await gateway.Client.GetAsync("/circuits-pair");
        }

        var after = await ScrapeAsync();
        Assert.Equal((1, 1, 0), (Circuit(after, "closed"), Circuit(after, "open"), Circuit(after, "half_open")));
        Assert.Equal(1, after.Single(s => s.Name == "gatehouse_outliers_panic" && s.Labels["gatehouse_service"] == "circuits-pair").Value);

        // The resilience meter's counters are exported too: the ejection is counted.
        Assert.Equal(1, after.Single(s => s.Name == "gatehouse_outliers_ejections_total" && s.Labels["service"] == "circuits-pair").Value);
    }

    [Fact]
    public async Task Scrape_HoldsTheRuntimesProcessMetrics_UnderPrometheusNamesWithTheirUnits()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              observability:
                metrics: { url: "http://127.0.0.1:0" }
            services:
              runtime-backend: { targets: [{{backend.Url}}] }
            routes:
              runtime-probe: { path: "/runtime-probe", service: runtime-backend }
            """);
        // The exceptions counter is added to when one is thrown (first chance), so its series appears with the first.
        try
        {
            throw new TimeZoneNotFoundException("thrown for the exceptions counter");
        }
        catch (TimeZoneNotFoundException)
        {
        }

        using var metricsClient = new HttpClient();
        var text = await metricsClient.GetStringAsync(gateway.Host.MetricsUrl + "/metrics");
        var samples = await PrometheusParser.ParseAsync(text);

        // .NET's System.Runtime meter, through the OpenTelemetry names: seconds and bytes as suffixes, counters in _total.
        var cpu = samples.Where(s => s.Name == "dotnet_process_cpu_time_seconds_total").ToDictionary(s => s.Labels["cpu_mode"], s => s);
        Assert.Equal("counter", cpu["user"].Type);
        Assert.True(cpu["user"].Value > 0, "the process has used CPU time");
        Assert.Contains("system", cpu.Keys);
        var collections = samples.Where(s => s.Name == "dotnet_gc_collections_total").ToDictionary(s => s.Labels["gc_heap_generation"], s => s);
        Assert.Equal(["gen0", "gen1", "gen2"], collections.Keys.Order());
        Assert.All(collections.Values, s => Assert.Equal("counter", s.Type));
        Assert.True(collections["gen0"].Value > 0, "a test process has collected its youngest generation");
        var workingSet = samples.Single(s => s.Name == "dotnet_process_memory_working_set_bytes");
        Assert.Equal("gauge", workingSet.Type);
        Assert.True(workingSet.Value > 1_000_000, "the working set is in bytes");
        Assert.Contains(samples, s => s.Name == "dotnet_gc_heap_total_allocated_bytes_total" && s.Value > 0);
        Assert.Contains(samples, s => s.Name == "dotnet_gc_pause_time_seconds_total");
        Assert.Contains(samples, s => s.Name == "dotnet_thread_pool_queue_length" && s.Type == "gauge");
        Assert.Contains(samples, s => s.Name == "dotnet_thread_pool_thread_count");
        Assert.Contains(samples, s => s.Name == "dotnet_gc_last_collection_heap_size_bytes" && s.Labels.ContainsKey("gc_heap_generation"));
        Assert.Contains(samples, s => s.Name == "dotnet_monitor_lock_contentions_total");
        Assert.Contains(samples, s => s.Name == "dotnet_exceptions_total" && s.Labels.GetValueOrDefault("error_type") == "TimeZoneNotFoundException" && s.Value >= 1);
    }

    /// <summary>A loopback URL where nothing listens: a port the OS handed out and that was closed again.</summary>
    private static string UnusedLoopbackUrl()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
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
