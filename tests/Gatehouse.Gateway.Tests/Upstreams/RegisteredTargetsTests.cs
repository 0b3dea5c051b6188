using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Gateway.Tests.Upstreams;

/// <summary>
/// An upstream's self-registered targets, replaced every second by the registrations follower with the whole live set:
/// thousands of instances, so each update finds the destinations it keeps by key (a scan per URL took seconds at 10,000).
/// A target that stays keeps its destination (and so its health and connections); configured targets and repeats are
/// left out.
/// </summary>
public sealed class RegisteredTargetsTests
{
    [Fact]
    public async Task SetRegistered_KeepsTheDestinationsThatStay_AddsAndDropsTheRest_AtThousands()
    {
        await using var upstream = new Upstream("users", new ServiceConfig { Targets = [new TargetConfig { Url = "http://10.0.0.1:80" }] }, new FakeTimeProvider(), NullLoggerFactory.Instance);
        var first = Enumerable.Range(0, 5000).Select(i => new Uri($"http://10.1.{i / 250}.{i % 250}:8080")).ToList();
        Assert.True(upstream.SetRegistered([.. first, new Uri("http://10.0.0.1:80"), first[0]]));
        var before = upstream.Registered.ToDictionary(d => d.Target.AbsoluteUri);
        Assert.Equal(5000, before.Count); // neither the configured target nor the repeat

        Assert.False(upstream.SetRegistered(first)); // the same set: nothing changes

        var second = first.Skip(1000).Concat(Enumerable.Range(0, 1000).Select(i => new Uri($"http://10.2.{i / 250}.{i % 250}:8080"))).ToList();
        Assert.True(upstream.SetRegistered(second));
        var after = upstream.Registered;
        Assert.Equal(5000, after.Length);
        Assert.Equal(second.Select(u => u.AbsoluteUri), after.Select(d => d.Target.AbsoluteUri));
        foreach (var destination in after.Take(4000))
        {
            Assert.Same(before[destination.Target.AbsoluteUri], destination);
        }

        Assert.All(after.Skip(4000), d => Assert.False(before.ContainsKey(d.Target.AbsoluteUri)));
    }

    /// <summary>
    /// A reload makes a new upstream, which takes over what the old one learnt of each target's health (here, passive
    /// ejections) by target and address, found by key: at thousands of registered targets a scan each took seconds.
    /// </summary>
    [Fact]
    public async Task AReload_TakesOverEachRegisteredTargetsHealth_AtThousands()
    {
        var time = new FakeTimeProvider();
        var service = new ServiceConfig
        {
            Targets = [new TargetConfig { Url = "http://10.0.0.1:80" }],
            HealthCheck = new HealthCheckConfig { Passive = new PassiveHealthCheckConfig { ConsecutiveFailures = 1, Cooldown = TimeSpan.FromHours(1) } },
        };
        var urls = Enumerable.Range(0, 5000).Select(i => new Uri($"http://10.1.{i / 250}.{i % 250}:8080")).ToList();
        await using var before = new Upstream("users", service, time, NullLoggerFactory.Instance);
        before.SetRegistered(urls);
        foreach (var bad in before.Registered.Where((_, i) => i % 10 == 0))
        {
            Assert.True(before.TryBeginRequest(bad));
            before.EndRequest(bad, failed: true);
        }

        await using var after = new Upstream("users", service, time, NullLoggerFactory.Instance);
        after.SetRegistered(urls);
        after.InheritHealth(before);

        var now = time.GetTimestamp();
        Assert.Equal(Enumerable.Range(0, 5000).Select(i => i % 10 == 0), after.Registered.Select(d => d.IsEjected(now)));
        Assert.False(after.Destinations.Single(d => d.Target.Port == 80).IsEjected(now));
    }
}
