using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Observability;

/// <summary>
/// Gatehouse's own metrics, each caused for real and read back from a real scrape of <c>/metrics</c>: ejections, config
/// reloads and the revision, access log lines dropped. Serial: these counters are the process's, and other tests reload
/// configs and write access logs at the same time.
/// </summary>
[Trait("Issue", "19")]
[Collection(SerialCollection.Name)]
public sealed class OwnMetricsTests
{
    [Fact]
    public async Task PassiveHealthCheck_EjectingADeadDestination_IsCountedForItsService()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              observability:
                metrics: { url: "http://127.0.0.1:0" }
            services:
              eject-pair:
                targets: [ "{{backend.Url}}", "{{UnusedLoopbackUrl()}}" ]
                healthCheck: { passive: { consecutiveFailures: 1, cooldown: 1h } }
              eject-plain: { targets: [{{backend.Url}}] }
            routes:
              eject-pair: { path: "/eject-pair", service: eject-pair }
              eject-plain: { path: "/eject-plain", service: eject-plain }
            """);

        // Round robin sends one of the first two requests to the dead destination: one failure takes it out for an hour.
        for (var i = 0; i < 4; i++)
        {
            using var response = await gateway.Client.GetAsync("/eject-pair");
        }

        using var plain = await gateway.Client.GetAsync("/eject-plain");
        var samples = await ScrapeAsync(gateway);

        Assert.Equal(1, samples.Single(s => s.Name == "gatehouse_upstream_ejections_total" && s.Labels["gatehouse_service"] == "eject-pair").Value);
        Assert.DoesNotContain(samples, s => s.Name == "gatehouse_upstream_ejections_total" && s.Labels["gatehouse_service"] == "eject-plain");
        Assert.Equal(1, samples.Single(s => s.Name == "gatehouse_upstream_destinations" && s.Labels["gatehouse_service"] == "eject-pair" && s.Labels["state"] == "unavailable").Value);
    }

    [Fact]
    public async Task ConfigFile_ChangedToAnInvalidThenAValidConfig_CountsOneRefusedAndTheAppliedRevisions()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        using var dir = new TempDirectory();
        string Yaml(string route) => $$"""
            version: 1
            gateway:
              observability:
                metrics: { url: "http://127.0.0.1:0" }
            services:
              reloaded: { targets: [{{backend.Url}}] }
            routes:
              {{route}}: { path: "/{{route}}", service: reloaded }
            """;
        var path = dir.Write("gatehouse.yaml", Yaml("first"));
        var logs = new CapturingLoggerProvider();
        await using var gateway = await TestGateway.StartAsync(Yaml("first"), configPath: path, logs: logs);
        var applied = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Host.Runtime.Applied += s => applied.TrySetResult(s.Revision);

        var started = await ScrapeAsync(gateway);
        Assert.Equal(1, Reloads(started, "applied"));
        Assert.Equal(0, Reloads(started, "refused"));
        Assert.Equal(1, started.Single(s => s.Name == "gatehouse_config_revision").Value);

        // Not valid: the running revision keeps serving, and the refusal is counted.
        dir.Write("gatehouse.yaml", Yaml("first").Replace("service: reloaded", "service: nowhere", StringComparison.Ordinal));
        await logs.WaitForAsync(e => e.Level == LogLevel.Error && e.Message.Contains("is not valid", StringComparison.Ordinal), TimeSpan.FromSeconds(15));
        var refused = await ScrapeAsync(gateway);
        Assert.Equal(1, Reloads(refused, "refused"));
        Assert.Equal(1, refused.Single(s => s.Name == "gatehouse_config_revision").Value);

        dir.Write("gatehouse.yaml", Yaml("second"));
        Assert.Equal(2, await applied.Task.WaitAsync(TimeSpan.FromSeconds(15)));
        var after = await ScrapeAsync(gateway);
        Assert.Equal(2, Reloads(after, "applied"));
        Assert.Equal(1, Reloads(after, "refused"));
        Assert.Equal(2, after.Single(s => s.Name == "gatehouse_config_revision").Value);

        static double Reloads(IReadOnlyList<PrometheusSample> samples, string outcome) =>
            samples.SingleOrDefault(s => s.Name == "gatehouse_config_reloads_total" && s.Labels["outcome"] == outcome)?.Value ?? 0;
    }

    [Fact]
    public async Task AccessLog_ThatCannotBeWritten_DropsLinesPastItsBuffer_AndCountsThem()
    {
        // The log's path is a directory: every open fails, so no line ever leaves the queue (2 lines), and the rest drop.
        using var dir = new TempDirectory();
        var unwritable = Path.Combine(dir.Path, "access.log");
        Directory.CreateDirectory(unwritable);
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              observability:
                metrics: { url: "http://127.0.0.1:0" }
                accessLog: { path: "{{unwritable}}", bufferSize: 2 }
            services:
              logged: { targets: [{{backend.Url}}] }
            routes:
              logged: { path: "/logged", service: logged }
            """, minimumLogLevel: LogLevel.Critical);

        for (var i = 0; i < 10; i++)
        {
            using var response = await gateway.Client.GetAsync("/logged");
            Assert.True(response.IsSuccessStatusCode);
        }

        // A line is queued once the response has ended on the gateway's side, which can be just after the client has it.
        IReadOnlyList<PrometheusSample> samples = [];
        for (var waited = 0; waited < 100; waited++)
        {
            samples = await ScrapeAsync(gateway);
            if (samples.Any(s => s.Name == "gatehouse_access_log_dropped_total" && s.Value == 8))
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.Equal(8, samples.Single(s => s.Name == "gatehouse_access_log_dropped_total").Value);
        Assert.Equal(8, gateway.Host.Telemetry.AccessLog!.Dropped);
    }

    /// <summary>
    /// The request metrics' queue, full, drops and counts. The real queue (65,536 records, drained every 100 ms) cannot be
    /// filled by requests from a test, so the gateway is given the host's seam for it: 2 records, drained only by scrapes.
    /// Everything else is the real thing: requests through Kestrel, and the count read from a scrape of <c>/metrics</c>.
    /// </summary>
    [Fact]
    public async Task RequestMetricsQueue_Full_DropsRecords_AndCountsThemInMetricsDropped()
    {
        var config = TestGateway.Parse("""
            version: 1
            gateway:
              observability:
                metrics: { url: "http://127.0.0.1:0" }
            """);
        await using var gateway = await TestGateway.StartAsync(config, options: o => o with { RequestMetricsQueue = (2, Timeout.InfiniteTimeSpan) });
        var before = await ScrapeAsync(gateway); // drains, so the queue is empty whatever came before
        Assert.Equal(0, Dropped(before));

        // No route: each request is one record (no upstream attempt). Two fit; the other three are dropped.
        for (var i = 0; i < 5; i++)
        {
            using var response = await gateway.Client.GetAsync("/nowhere");
            Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
        }

        // A record is queued once the response has ended on the gateway's side, which can be just after the client has it;
        // a scrape drains the queue, so wait for the queue's own count before scraping.
        var requests = gateway.Host.Telemetry.Requests!;
        for (var waited = 0; waited < 100 && requests.Dropped < 3; waited++)
        {
            await Task.Delay(50);
        }

        var after = await ScrapeAsync(gateway);
        Assert.Equal(3, Dropped(after));
        Assert.Equal(2, after.Single(s => s.Name == "http_server_request_duration_seconds_count" && !s.Labels.ContainsKey("http_route")).Value);

        static double Dropped(IReadOnlyList<PrometheusSample> samples) => samples.SingleOrDefault(s => s.Name == "gatehouse_metrics_dropped_total")?.Value ?? 0;
    }

    /// <summary>
    /// The shared response cache's store failing: a real redis-server, stopped under the gateway. Each request is forwarded
    /// as a miss, and the failed look (and the failed write of the answer) is counted by operation.
    /// </summary>
    [Fact]
    [Trait("Issue", "23")]
    public async Task SharedCache_RedisStopped_EachFailedLookAndWriteIsCountedByOperation()
    {
        await using var redis = await Gatehouse.Management.Tests.Support.RedisServer.StartNewAsync();
        await using var backend = await TestBackend.StartEchoAsync();
        // A 5 s timeout, as in SharedCacheTests: a stopped Redis refuses at once, and a first connection on a loaded
        // machine may take longer than a short one.
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              observability:
                metrics: { url: "http://127.0.0.1:0" }
              cache: { redis: "{{redis.Configuration}}", timeout: 5s }
            services:
              cached: { targets: [{{backend.Url}}] }
            routes:
              cached: { methods: [GET], path: "/cached/{id}", service: cached, policies: { cache: { ttl: 30s } } }
            """, minimumLogLevel: LogLevel.Critical);

        using (var up = await gateway.Client.GetAsync("/cached/1"))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, up.StatusCode);
        }

        // The write of the first answer does not hold the response back: wait for it before Redis goes, so that every
        // error counted below is one of the requests made while it is down.
        for (var waited = 0; waited < 100; waited++)
        {
            using var look = await gateway.Client.GetAsync("/cached/1");
            if (look.Headers.TryGetValues("Gatehouse-Cache", out var state) && state.First() == "hit")
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.Equal(0, Errors(await ScrapeAsync(gateway), "get"));
        await redis.StopAsync();
        for (var i = 0; i < 3; i++)
        {
            using var down = await gateway.Client.GetAsync($"/cached/{i}");
            Assert.Equal(System.Net.HttpStatusCode.OK, down.StatusCode);
        }

        // Each look failed and was forwarded as a miss; its answer's write fails after the response, so wait for those.
        IReadOnlyList<PrometheusSample> samples = [];
        for (var waited = 0; waited < 300; waited++)
        {
            samples = await ScrapeAsync(gateway);
            if (Errors(samples, "set") >= 3)
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.Equal(3, Errors(samples, "get"));
        Assert.Equal(3, Errors(samples, "set"));

        static double Errors(IReadOnlyList<PrometheusSample> samples, string operation) =>
            samples.SingleOrDefault(s => s.Name == "gatehouse_cache_store_errors_total" && s.Labels["operation"] == operation)?.Value ?? 0;
    }

    private static async Task<IReadOnlyList<PrometheusSample>> ScrapeAsync(TestGateway gateway)
    {
        using var client = new HttpClient();
        return await PrometheusParser.ParseAsync(await client.GetStringAsync(gateway.Host.MetricsUrl + "/metrics"));
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
}
