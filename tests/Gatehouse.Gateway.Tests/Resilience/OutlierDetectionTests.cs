using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging.Abstractions;
using FakeTimeProvider = Gatehouse.Gateway.Tests.TestSupport.FakeTimeProvider;

namespace Gatehouse.Gateway.Tests.Resilience;

/// <summary>Issue 20: outlier ejection, its growth and cap, half-open probes and panic mode, on a fake clock.</summary>
public sealed class OutlierDetectionTests
{
    private readonly FakeTimeProvider _time = new();

    private Upstream Create(int targets, OutlierDetectionConfig outliers) => new("svc", new ServiceConfig
    {
        Targets = [.. Enumerable.Range(0, targets).Select(i => new TargetConfig { Url = $"http://127.0.0.{i + 1}:8080" })],
        OutlierDetection = outliers,
    }, _time, NullLoggerFactory.Instance);

    private static void Fail(Upstream upstream, Destination d, int times)
    {
        for (var i = 0; i < times; i++)
        {
            Assert.True(upstream.TryBeginRequest(d));
            upstream.EndRequest(d, UpstreamOutcome.Failed);
        }
    }

    private Destination[] PickMany(Upstream upstream, int count) => [.. Enumerable.Range(0, count).Select(_ => upstream.Pick()!)];

    [Fact]
    public async Task FailingDestination_IsEjected_ProbedOneAtATime_ForLongerEachTime_AndReturnsWhenItRecovers()
    {
        await using var upstream = Create(3, new OutlierDetectionConfig { ConsecutiveFailures = 5, BaseEjectionTime = TimeSpan.FromSeconds(30), MaxEjectedPercent = 50 });
        var bad = upstream.Destinations[0];

        Fail(upstream, bad, 5);
        Assert.DoesNotContain(bad, PickMany(upstream, 30));

        // Ejection over: half-open. One request gets it; while that probe is out, nobody else does.
        _time.Advance(TimeSpan.FromSeconds(30));
        var picks = PickMany(upstream, 30);
        Assert.Single(picks, d => ReferenceEquals(d, bad));

        // The probe fails: out again, for 2 × 30 s.
        Assert.True(upstream.TryBeginRequest(bad));
        upstream.EndRequest(bad, UpstreamOutcome.Failed);
        Assert.Equal(2, bad.Ejections);
        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.DoesNotContain(bad, PickMany(upstream, 30));
        _time.Advance(TimeSpan.FromSeconds(30));

        // It recovered: the probe succeeds, and it takes its share again.
        var probe = PickMany(upstream, 30).Single(d => ReferenceEquals(d, bad));
        Assert.True(upstream.TryBeginRequest(probe));
        upstream.EndRequest(probe, UpstreamOutcome.Succeeded);
        Assert.Equal(10, PickMany(upstream, 30).Count(d => ReferenceEquals(d, bad)));
    }

    [Fact]
    public async Task EjectionTime_IsCappedAtMaxEjectionTime()
    {
        await using var upstream = Create(2, new OutlierDetectionConfig { ConsecutiveFailures = 1, BaseEjectionTime = TimeSpan.FromSeconds(10), MaxEjectionTime = TimeSpan.FromSeconds(25), MaxEjectedPercent = 100, PanicThresholdPercent = 0 });
        var bad = upstream.Destinations[0];
        Fail(upstream, bad, 1);
        for (var i = 0; i < 4; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(25));
            Assert.True(bad.IsHalfOpen(_time.GetTimestamp()));
            Fail(upstream, bad, 1); // the probe fails again
        }

        // Fifth ejection: 50 s by the multiplier, 25 s by the cap.
        _time.Advance(TimeSpan.FromSeconds(25));
        Assert.True(bad.IsHalfOpen(_time.GetTimestamp()));
    }

    [Fact]
    public async Task ShareCap_HoldsWhenSeveralDestinationsFail()
    {
        await using var upstream = Create(3, new OutlierDetectionConfig { ConsecutiveFailures = 2, MaxEjectedPercent = 34, PanicThresholdPercent = 0 });
        var now = _time.GetTimestamp();
        Fail(upstream, upstream.Destinations[0], 2);
        Fail(upstream, upstream.Destinations[1], 2);
        Fail(upstream, upstream.Destinations[2], 2);

        Assert.Equal(1, upstream.Destinations.Count(d => d.IsEjected(now)));
    }

    [Fact]
    public async Task FailureRate_OverTheWindow_Ejects()
    {
        await using var upstream = Create(3, new OutlierDetectionConfig { ConsecutiveFailures = 100, FailurePercent = 50, MinimumRequests = 10, MaxEjectedPercent = 50 });
        var d = upstream.Destinations[1];
        for (var i = 0; i < 10; i++)
        {
            Assert.True(upstream.TryBeginRequest(d));
            upstream.EndRequest(d, i % 2 == 1 ? UpstreamOutcome.Failed : UpstreamOutcome.Succeeded);
        }

        Assert.True(d.IsEjected(_time.GetTimestamp()));
    }

    [Fact]
    public async Task PanicMode_TooFewAvailable_SpreadsOverEveryDestination()
    {
        await using var upstream = Create(4, new OutlierDetectionConfig { PanicThresholdPercent = 50 });
        upstream.Destinations[0].ActiveHealthy = false;
        upstream.Destinations[1].ActiveHealthy = false;
        upstream.Destinations[2].ActiveHealthy = false;
        upstream.HealthChanged();

        Assert.Equal(4, PickMany(upstream, 40).Distinct().Count());

        upstream.Destinations[0].ActiveHealthy = true;
        upstream.Destinations[1].ActiveHealthy = true;
        upstream.HealthChanged();
        Assert.Equal(3, PickMany(upstream, 40).Distinct().Count());
    }

    [Fact]
    public async Task PanicOff_EveryDestinationDown_PicksNone()
    {
        await using var upstream = Create(2, new OutlierDetectionConfig { PanicThresholdPercent = 0 });
        upstream.Destinations[0].ActiveHealthy = false;
        upstream.Destinations[1].ActiveHealthy = false;

        Assert.Null(upstream.Pick());
    }
}
