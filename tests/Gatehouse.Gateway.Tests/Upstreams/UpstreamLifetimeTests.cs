using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Gateway.Tests.Upstreams;

public sealed class UpstreamLifetimeTests
{
    [Fact]
    public async Task RetireAsync_RequestInFlight_WaitsForItThenClosesConnections()
    {
        var time = new FakeTimeProvider();
        var upstream = new Upstream("users", new ServiceConfig { Targets = [new TargetConfig { Url = "http://127.0.0.1:9" }] }, time, NullLoggerFactory.Instance);
        var d = upstream.Destinations[0];
        Assert.True(upstream.TryBeginRequest(d));

        var retire = upstream.RetireAsync(TimeSpan.FromSeconds(30));
        await Task.Yield();
        Assert.False(retire.IsCompleted);

        upstream.EndRequest(d, failed: false);
        await retire.WaitAsync(Wait.DefaultTimeout);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => upstream.Invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1:9/"), default));
    }

    [Fact]
    public async Task RetireAsync_RequestNeverEnds_GivesUpAtTheDrainTimeout()
    {
        var time = new FakeTimeProvider();
        var upstream = new Upstream("users", new ServiceConfig { Targets = [new TargetConfig { Url = "http://127.0.0.1:9" }] }, time, NullLoggerFactory.Instance);
        Assert.True(upstream.TryBeginRequest(upstream.Destinations[0]));

        var retire = upstream.RetireAsync(TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(() => time.ActiveTimers > 0, "the drain timeout to be armed");
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(retire.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(1));
        await retire.WaitAsync(Wait.DefaultTimeout);
    }

    [Fact]
    public async Task RetireAsync_StopsActiveHealthChecks()
    {
        var probes = 0;
        await using var backend = await TestBackend.StartAsync(app => app.MapGet("/health", () =>
        {
            Interlocked.Increment(ref probes);
            return Results.Ok();
        }));
        var time = new FakeTimeProvider();
        var upstream = new Upstream(
            "users",
            new ServiceConfig
            {
                Targets = [new TargetConfig { Url = backend.Url }],
                HealthCheck = new HealthCheckConfig { Active = new ActiveHealthCheckConfig { Interval = TimeSpan.FromSeconds(5) } },
            },
            time,
            NullLoggerFactory.Instance);
        upstream.Start();
        await Wait.UntilAsync(() => upstream.HealthChecker!.Rounds == 1, "the first probe round");

        await upstream.RetireAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(0, time.ActiveTimers);
        time.Advance(TimeSpan.FromSeconds(60));

        Assert.Equal(1, Volatile.Read(ref probes));
        Assert.Equal(1, upstream.HealthChecker!.Rounds);
    }

    [Fact]
    public async Task DisposeAsync_Started_StopsDiscoveryTimerAndIsIdempotent()
    {
        var time = new FakeTimeProvider();
        var upstream = new Upstream("users", new ServiceConfig { Targets = [new TargetConfig { Url = "http://users.internal:8080" }] }, time, NullLoggerFactory.Instance, (_, _) => Task.FromResult(Array.Empty<System.Net.IPAddress>()));
        upstream.Start();
        await Wait.UntilAsync(() => upstream.Resolver!.Refreshes == 1, "the first lookup");
        Assert.Equal(1, time.ActiveTimers);

        await upstream.DisposeAsync();
        await upstream.DisposeAsync();

        Assert.Equal(0, time.ActiveTimers);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => upstream.Invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1:9/"), default));
    }
}
