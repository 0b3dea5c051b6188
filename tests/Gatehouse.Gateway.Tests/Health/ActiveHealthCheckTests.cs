using System.Collections.Concurrent;
using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Gateway.Tests.Health;

public sealed class ActiveHealthCheckTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    private static ActiveHealthCheckConfig Active(int healthy = 2, int unhealthy = 2, string path = "/health") => new()
    {
        Path = path,
        Interval = Interval,
        Timeout = ProbeTimeout,
        HealthyThreshold = healthy,
        UnhealthyThreshold = unhealthy,
    };

    private static Upstream Create(FakeTimeProvider time, ActiveHealthCheckConfig active, ILoggerFactory? logs, params string[] targets) => new(
        "users",
        new ServiceConfig
        {
            Targets = [.. targets.Select(t => new TargetConfig { Url = t })],
            HealthCheck = new HealthCheckConfig { Active = active },
        },
        time,
        logs ?? NullLoggerFactory.Instance);

    /// <summary>Moves the fake clock one interval and waits (bounded) for the round it starts to finish.</summary>
    private static async Task NextRoundAsync(Upstream upstream, FakeTimeProvider time)
    {
        var before = upstream.HealthChecker!.Rounds;
        time.Advance(Interval);
        await Wait.UntilAsync(() => upstream.HealthChecker.Rounds > before, $"probe round {before + 1}");
    }

    private static async Task StartAsync(Upstream upstream)
    {
        upstream.Start();
        await Wait.UntilAsync(() => upstream.HealthChecker!.Rounds >= 1, "the first probe round");
    }

    [Fact]
    public async Task Probes_BackendHealthStartsFailing_TakenOutAtThresholdAndBackAfterRecovery()
    {
        var status = StatusCodes.Status200OK;
        await using var flaky = await TestBackend.StartAsync(app => app.MapGet("/health", () => Results.StatusCode(Volatile.Read(ref status))));
        await using var steady = await TestBackend.StartAsync(app => app.MapGet("/health", () => Results.Ok()));
        var time = new FakeTimeProvider();
        var logs = new CapturingLoggerProvider();
        await using var upstream = Create(time, Active(healthy: 2, unhealthy: 3), logs, flaky.Url, steady.Url);
        var bad = upstream.Destinations[0];
        await StartAsync(upstream);
        Assert.True(bad.ActiveHealthy);

        Volatile.Write(ref status, StatusCodes.Status503ServiceUnavailable);
        await NextRoundAsync(upstream, time);
        await NextRoundAsync(upstream, time);
        Assert.True(bad.ActiveHealthy, "two failed probes are below the threshold of three");

        await NextRoundAsync(upstream, time);
        Assert.False(bad.ActiveHealthy);
        Assert.All(Enumerable.Range(0, 20), _ => Assert.NotSame(bad, upstream.Pick()));

        // Still failing: no further transition and no further log.
        await NextRoundAsync(upstream, time);
        Volatile.Write(ref status, StatusCodes.Status200OK);
        await NextRoundAsync(upstream, time);
        Assert.False(bad.ActiveHealthy, "one successful probe is below the threshold of two");

        await NextRoundAsync(upstream, time);
        Assert.True(bad.ActiveHealthy);
        Assert.Contains(bad, Enumerable.Range(0, 20).Select(_ => upstream.Pick()));

        var transitions = logs.Entries.Where(e => e.Category == "Gatehouse.Health").ToList();
        Assert.Collection(
            transitions,
            e =>
            {
                Assert.Equal(LogLevel.Warning, e.Level);
                Assert.Contains($"127.0.0.1:{flaky.Port}", e.Message);
                Assert.Contains("HTTP 503", e.Message);
            },
            e => Assert.Equal(LogLevel.Information, e.Level));
        Assert.True(steady.Url is not null && upstream.Destinations[1].ActiveHealthy);
    }

    /// <summary>A health endpoint that redirects (or wants a login) is healthy when <c>statuses</c> says so; 2xx alone otherwise.</summary>
    [Theory]
    [InlineData(302, new[] { "2xx" }, false)]
    [InlineData(302, new[] { "2xx", "302" }, true)]
    [InlineData(401, new[] { "200-399", "401" }, true)]
    [InlineData(204, new[] { "3xx" }, false)]
    [InlineData(204, new[] { "2xx" }, true)]
    public async Task Probes_TheConfiguredStatuses_AreHealthy_AndNoOthers(int answer, string[] statuses, bool healthy)
    {
        await using var backend = await TestBackend.StartAsync(app => app.MapGet("/health", (HttpContext c) =>
        {
            if (answer == 302)
            {
                c.Response.Headers.Location = "/login";
            }

            return Results.StatusCode(answer);
        }));
        var time = new FakeTimeProvider();
        await using var upstream = Create(time, Active(unhealthy: 1, healthy: 1) with { Statuses = statuses }, null, backend.Url);
        var d = upstream.Destinations[0];

        await StartAsync(upstream);

        Assert.Equal(healthy, d.ActiveHealthy);
    }

    [Fact]
    public async Task Probes_BackendStops_TakenOutOnConnectionFailures()
    {
        var backend = await TestBackend.StartAsync(app => app.MapGet("/health", () => Results.Ok()));
        var time = new FakeTimeProvider();
        await using var upstream = Create(time, Active(unhealthy: 2), null, backend.Url);
        var d = upstream.Destinations[0];
        await StartAsync(upstream);

        await backend.DisposeAsync();
        await NextRoundAsync(upstream, time);
        await NextRoundAsync(upstream, time);

        Assert.False(d.ActiveHealthy);
        Assert.Null(upstream.Pick());
    }

    [Fact]
    public async Task Probes_NoAnswerWithinTimeout_CountsAsFailure()
    {
        var received = 0;
        await using var backend = await TestBackend.StartAsync(app => app.MapGet("/health", async (HttpContext context) =>
        {
            Interlocked.Increment(ref received);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }));
        var time = new FakeTimeProvider();
        await using var upstream = Create(time, Active(unhealthy: 1), null, backend.Url);
        upstream.Start();
        await Wait.UntilAsync(() => Volatile.Read(ref received) == 1, "the probe to reach the backend");
        Assert.Equal(0, upstream.HealthChecker!.Rounds);

        time.Advance(ProbeTimeout);

        await Wait.UntilAsync(() => upstream.HealthChecker.Rounds == 1, "the probe to time out");
        Assert.False(upstream.Destinations[0].ActiveHealthy);
    }

    [Fact]
    public async Task Probes_GetThePathOnEveryDestinationWithTheirHostHeader()
    {
        var seen = new ConcurrentQueue<string>();
        await using var backend = await TestBackend.StartAsync(app => app.MapGet("/api/ready", (HttpContext c) =>
        {
            seen.Enqueue($"{c.Request.Method} {c.Request.Host} {c.Request.Path}");
            return Results.Ok();
        }));
        var time = new FakeTimeProvider();

        // A DNS target: the destination connects to 127.0.0.1 and must still say who it asks for.
        await using var upstream = new Upstream(
            "users",
            new ServiceConfig
            {
                Targets = [new TargetConfig { Url = $"http://users.internal:{backend.Port}/api" }],
                HealthCheck = new HealthCheckConfig { Active = Active(path: "/ready") },
            },
            time,
            NullLoggerFactory.Instance,
            (_, _) => Task.FromResult(new[] { IPAddress.Loopback }));

        // The first round waits for the first lookup, so it already probes the resolved address.
        await StartAsync(upstream);

        Assert.Equal("127.0.0.1", upstream.Destinations.Single().Address);
        Assert.Equal([$"GET users.internal:{backend.Port} /api/ready"], seen);
        Assert.True(upstream.Destinations[0].ActiveHealthy);
    }

    /// <summary>
    /// <c>grpc</c>: a real gRPC server's standard health service decides: SERVING is healthy, NOT_SERVING takes the
    /// destination out and SERVING brings it back; a service name the server does not know (NOT_FOUND) is unhealthy.
    /// </summary>
    [Fact]
    public async Task GrpcProbes_FollowTheServersHealthService()
    {
        await using var server = await Grpc.HealthService.StartAsync();
        var time = new FakeTimeProvider();
        Upstream Probing(string service) => new(
            "carts",
            new ServiceConfig
            {
                Targets = [new TargetConfig { Url = server.Url }],
                Protocol = UpstreamProtocol.Http2,
                HealthCheck = new HealthCheckConfig { Active = Active(healthy: 1, unhealthy: 1) with { Grpc = new GrpcHealthCheckConfig { Service = service } } },
            },
            time,
            NullLoggerFactory.Instance);
        await using var upstream = Probing("carts");
        await using var unknown = Probing("nope");

        await StartAsync(upstream);
        await StartAsync(unknown);
        Assert.True(upstream.Destinations[0].ActiveHealthy);
        Assert.False(unknown.Destinations[0].ActiveHealthy);

        server.Health.SetStatus("carts", global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.NotServing);
        await NextRoundAsync(upstream, time);
        Assert.False(upstream.Destinations[0].ActiveHealthy);

        server.Health.SetStatus("carts", global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
        await NextRoundAsync(upstream, time);
        Assert.True(upstream.Destinations[0].ActiveHealthy);
    }

    [Fact]
    public async Task Probes_Http2Service_SpeakH2cLikeRealTraffic()
    {
        var protocols = new ConcurrentQueue<string>();
        await using var backend = await TestBackend.StartAsync(
            app => app.MapGet("/health", (HttpContext c) =>
            {
                protocols.Enqueue(c.Request.Protocol);
                return Results.Ok();
            }),
            protocols: HttpProtocols.Http2);
        var time = new FakeTimeProvider();
        await using var upstream = new Upstream(
            "grpcish",
            new ServiceConfig
            {
                Targets = [new TargetConfig { Url = backend.Url }],
                Protocol = UpstreamProtocol.Http2,
                HealthCheck = new HealthCheckConfig { Active = Active(unhealthy: 1) },
            },
            time,
            NullLoggerFactory.Instance);

        await StartAsync(upstream);

        // An HTTP/2-only listener answers nothing else, so a healthy destination means the probe spoke h2c.
        Assert.True(upstream.Destinations[0].ActiveHealthy);
        Assert.Equal(["HTTP/2"], protocols);
    }

    [Fact]
    public async Task Probes_NewDestinationFromDiscovery_StartsHealthyAndIsProbed()
    {
        await using var backend = await TestBackend.StartAsync(app => app.MapGet("/health", () => Results.StatusCode(503)));
        var time = new FakeTimeProvider();
        var answer = new[] { IPAddress.Parse("127.0.0.1") };
        var dnsRefresh = TimeSpan.FromSeconds(3);
        await using var upstream = new Upstream(
            "users",
            new ServiceConfig
            {
                Targets = [new TargetConfig { Url = $"http://users.internal:{backend.Port}" }],
                HealthCheck = new HealthCheckConfig { Active = Active(unhealthy: 1) },
                DnsRefresh = dnsRefresh,
            },
            time,
            NullLoggerFactory.Instance,
            (_, _) => Task.FromResult(Volatile.Read(ref answer)));
        await StartAsync(upstream);
        var first = upstream.Destinations.Single();
        Assert.False(first.ActiveHealthy);

        // t = 0s. The next refresh is due at 3s, the next probe round at 10s: this refresh adds 127.0.0.2, no probe runs.
        Volatile.Write(ref answer, [IPAddress.Parse("127.0.0.1"), IPAddress.Parse("127.0.0.2")]);
        var refreshes = upstream.Resolver!.Refreshes;
        time.Advance(dnsRefresh);
        await Wait.UntilAsync(() => upstream.Resolver.Refreshes > refreshes, "the DNS refresh");
        var added = upstream.Destinations.Single(d => d.Address == "127.0.0.2");

        Assert.True(added.ActiveHealthy);
        Assert.Same(first, upstream.Destinations.Single(d => d.Address == "127.0.0.1"));
        Assert.False(first.ActiveHealthy);

        // Nothing listens on 127.0.0.2 at the backend's port, so its first probe fails and takes it out.
        await NextRoundAsync(upstream, time);
        Assert.False(added.ActiveHealthy);
    }
}
