using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Gateway.Tests.Upstreams;

public sealed class PassiveHealthTests
{
    private static readonly TimeSpan Cooldown = TimeSpan.FromSeconds(30);

    private static Upstream Create(FakeTimeProvider time, ILoggerFactory? logs = null, int failures = 3) => new(
        "users",
        new ServiceConfig
        {
            Targets = [new TargetConfig { Url = "http://10.0.0.1:8080" }, new TargetConfig { Url = "http://10.0.0.2:8080" }],
            HealthCheck = new HealthCheckConfig { Passive = new PassiveHealthCheckConfig { ConsecutiveFailures = failures, Cooldown = Cooldown } },
        },
        time,
        logs ?? NullLoggerFactory.Instance);

    private static void Fail(Upstream upstream, Destination d, int times)
    {
        for (var i = 0; i < times; i++)
        {
            Assert.True(upstream.TryBeginRequest(d));
            upstream.EndRequest(d, failed: true);
        }
    }

    private static void Succeed(Upstream upstream, Destination d)
    {
        Assert.True(upstream.TryBeginRequest(d));
        upstream.EndRequest(d, failed: false);
    }

    private static List<Destination> PickMany(Upstream upstream) => [.. Enumerable.Range(0, 20).Select(_ => upstream.Pick()!)];

    [Fact]
    public async Task EndRequest_ThresholdConsecutiveFailures_EjectsDestination()
    {
        var time = new FakeTimeProvider();
        var logs = new CapturingLoggerProvider();
        await using var upstream = Create(time, logs);
        var bad = upstream.Destinations[0];

        Fail(upstream, bad, 3);

        Assert.False(bad.IsAvailable(time.GetTimestamp()));
        Assert.DoesNotContain(bad, PickMany(upstream));
        var ejected = Assert.Single(logs.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains("10.0.0.1", ejected.Message);
    }

    [Fact]
    public async Task EndRequest_OneFailureShortOfThreshold_KeepsDestination()
    {
        var time = new FakeTimeProvider();
        await using var upstream = Create(time);
        var d = upstream.Destinations[0];

        Fail(upstream, d, 2);

        Assert.Contains(d, PickMany(upstream));
    }

    [Fact]
    public async Task EndRequest_AfterCooldown_DestinationIsBack()
    {
        var time = new FakeTimeProvider();
        await using var upstream = Create(time);
        var bad = upstream.Destinations[0];
        Fail(upstream, bad, 3);

        time.Advance(Cooldown - TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(bad, PickMany(upstream));

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains(bad, PickMany(upstream));
    }

    [Fact]
    public async Task EndRequest_SuccessBetweenFailures_ResetsTheCount()
    {
        var time = new FakeTimeProvider();
        await using var upstream = Create(time);
        var d = upstream.Destinations[0];

        Fail(upstream, d, 2);
        Succeed(upstream, d);
        Fail(upstream, d, 2);

        Assert.Equal(2, d.ConsecutiveFailures);
        Assert.True(d.IsAvailable(time.GetTimestamp()));
        Fail(upstream, d, 1);
        Assert.False(d.IsAvailable(time.GetTimestamp()));
    }

    [Fact]
    public async Task EndRequest_NoPassiveConfig_NeverEjects()
    {
        var time = new FakeTimeProvider();
        await using var upstream = new Upstream(
            "users",
            new ServiceConfig { Targets = [new TargetConfig { Url = "http://10.0.0.1:8080" }] },
            time,
            NullLoggerFactory.Instance);
        var d = upstream.Destinations[0];

        Fail(upstream, d, 100);

        Assert.Same(d, upstream.Pick());
    }

    [Fact]
    public async Task EndRequest_AllEjected_PickReturnsNull()
    {
        var time = new FakeTimeProvider();
        await using var upstream = Create(time, failures: 1);

        foreach (var d in upstream.Destinations)
        {
            Fail(upstream, d, 1);
        }

        Assert.Null(upstream.Pick());
    }

    [Fact]
    public async Task BeginAndEndRequest_TrackInFlightPerUpstreamAndDestination()
    {
        await using var upstream = Create(new FakeTimeProvider());
        var d = upstream.Destinations[1];

        Assert.True(upstream.TryBeginRequest(d));
        Assert.True(upstream.TryBeginRequest(d));
        Assert.Equal(2, upstream.InFlight);
        Assert.Equal(2, d.Outstanding);

        upstream.EndRequest(d, failed: false);
        Assert.Equal(1, upstream.InFlight);
        Assert.Equal(1, d.Outstanding);
    }
}
