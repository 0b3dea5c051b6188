using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Gatehouse.Gateway.Discovery;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Gateway.Tests.Discovery;

public sealed class DnsDestinationResolverTests
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(30);

    /// <summary>A DNS answer a test can change between refreshes, and the names it was asked for.</summary>
    private sealed class FakeDns
    {
        private volatile Func<string, IPAddress[]> _answer = _ => [];

        public ConcurrentQueue<string> Queries { get; } = new();

        public void Answer(params string[] addresses) => _answer = _ => [.. addresses.Select(IPAddress.Parse)];

        public void Fail() => _answer = host => throw new SocketException((int)SocketError.HostNotFound);

        public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
        {
            Queries.Enqueue(host);
            return Task.FromResult(_answer(host));
        }
    }

    private static Upstream Create(FakeDns dns, FakeTimeProvider time, ILoggerFactory? logs = null, params string[] targets) => new(
        "users",
        new ServiceConfig { Targets = [.. targets.Select(t => new TargetConfig { Url = t, Weight = 2 })], DnsRefresh = Refresh },
        time,
        logs ?? NullLoggerFactory.Instance,
        dns.ResolveAsync);

    private static async Task StartAsync(Upstream upstream)
    {
        upstream.Start();
        await Wait.UntilAsync(() => upstream.Resolver!.Refreshes >= 1, "the first lookup");
    }

    private static async Task RefreshAsync(Upstream upstream, FakeTimeProvider time)
    {
        var before = upstream.Resolver!.Refreshes;
        time.Advance(Refresh);
        await Wait.UntilAsync(() => upstream.Resolver.Refreshes > before, "the next refresh");
    }

    private static string[] Addresses(Upstream upstream) => [.. upstream.Destinations.Select(d => d.Address)];

    [Fact]
    public async Task Start_DnsTarget_EachAddressBecomesADestinationThatSendsTheName()
    {
        var dns = new FakeDns();
        dns.Answer("10.0.0.2", "10.0.0.1");
        await using var upstream = Create(dns, new FakeTimeProvider(), null, "https://users.internal:8443/api");

        await StartAsync(upstream);

        Assert.Equal(["10.0.0.1", "10.0.0.2"], Addresses(upstream));
        var d = upstream.Destinations[0];
        Assert.Equal("https://10.0.0.1:8443/api", d.BaseAddress);
        Assert.Equal("users.internal:8443", d.HostHeader);
        Assert.Equal(2, d.Weight);
        Assert.Equal(["users.internal"], dns.Queries);
    }

    [Fact]
    public async Task Constructor_BeforeFirstLookup_TargetConnectsByName()
    {
        await using var upstream = Create(new FakeDns(), new FakeTimeProvider(), null, "http://users.internal:8080");

        var d = Assert.Single(upstream.Destinations);
        Assert.Equal("http://users.internal:8080", d.BaseAddress);
        Assert.Null(d.HostHeader);
    }

    [Fact]
    public async Task Refresh_AddressStays_KeepsTheSameDestinationWithItsState()
    {
        var dns = new FakeDns();
        dns.Answer("10.0.0.1", "10.0.0.2");
        var time = new FakeTimeProvider();
        await using var upstream = Create(dns, time, null, "http://users.internal:8080");
        await StartAsync(upstream);
        var kept = upstream.Destinations.Single(d => d.Address == "10.0.0.2");
        Assert.True(upstream.TryBeginRequest(kept));
        kept.ActiveHealthy = false;

        dns.Answer("10.0.0.3", "10.0.0.2");
        await RefreshAsync(upstream, time);

        Assert.Equal(["10.0.0.2", "10.0.0.3"], Addresses(upstream));
        Assert.Same(kept, upstream.Destinations[0]);
        Assert.Equal(1, kept.Outstanding);
        Assert.False(kept.ActiveHealthy);
        Assert.True(upstream.Destinations[1].ActiveHealthy);
    }

    [Fact]
    public async Task Refresh_SameAddressesInAnotherOrder_KeepsTheArray()
    {
        var dns = new FakeDns();
        dns.Answer("10.0.0.1", "10.0.0.2");
        var time = new FakeTimeProvider();
        await using var upstream = Create(dns, time, null, "http://users.internal:8080");
        await StartAsync(upstream);
        var before = upstream.Destinations;

        dns.Answer("10.0.0.2", "10.0.0.1");
        await RefreshAsync(upstream, time);

        // Not even a new array: load-balancing schedules are rebuilt only on a real change.
        Assert.Same(before, upstream.Destinations);
    }

    [Fact]
    public async Task Refresh_LookupFails_KeepsLastGoodSetAndLogsOnceUntilItRecovers()
    {
        var dns = new FakeDns();
        dns.Answer("10.0.0.1");
        var time = new FakeTimeProvider();
        var logs = new CapturingLoggerProvider();
        await using var upstream = Create(dns, time, logs, "http://users.internal:8080");
        await StartAsync(upstream);
        var good = upstream.Destinations;

        dns.Fail();
        await RefreshAsync(upstream, time);
        await RefreshAsync(upstream, time);
        await RefreshAsync(upstream, time);

        Assert.Same(good, upstream.Destinations);
        var failure = Assert.Single(logs.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains("users.internal", failure.Message);
        Assert.Contains("10.0.0.1", failure.Message);

        dns.Answer("10.0.0.1");
        await RefreshAsync(upstream, time);
        Assert.Single(logs.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("succeeds again", StringComparison.Ordinal));
        Assert.Same(good, upstream.Destinations);
    }

    [Fact]
    public async Task Refresh_EmptyAnswer_KeepsLastGoodSet()
    {
        var dns = new FakeDns();
        dns.Answer("10.0.0.1");
        var time = new FakeTimeProvider();
        await using var upstream = Create(dns, time, null, "http://users.internal:8080");
        await StartAsync(upstream);

        dns.Answer();
        await RefreshAsync(upstream, time);

        Assert.Equal(["10.0.0.1"], Addresses(upstream));
    }

    [Fact]
    public async Task Start_FirstLookupFails_KeepsConnectingByName()
    {
        var dns = new FakeDns();
        dns.Fail();
        await using var upstream = Create(dns, new FakeTimeProvider(), null, "http://users.internal:8080");

        await StartAsync(upstream);

        Assert.Equal(["users.internal"], Addresses(upstream));
    }

    [Fact]
    public async Task Start_IpLiteralTargets_AreNeverLookedUpAndKeepTheirObjects()
    {
        var dns = new FakeDns();
        dns.Answer("10.0.0.7");
        var time = new FakeTimeProvider();
        await using var upstream = Create(dns, time, null, "http://10.0.0.5:8080", "http://users.internal:8080", "http://[fd00::1]:8080");
        var literal = upstream.Destinations[0];
        var literalV6 = upstream.Destinations[2];

        await StartAsync(upstream);

        Assert.Equal(["10.0.0.5", "10.0.0.7", "fd00::1"], Addresses(upstream));
        Assert.Same(literal, upstream.Destinations[0]);
        Assert.Same(literalV6, upstream.Destinations[2]);
        Assert.Null(literalV6.HostHeader);
        Assert.Equal(["users.internal"], dns.Queries);
    }

    [Fact]
    public async Task Start_NoDnsTargets_HasNoResolver()
    {
        await using var upstream = Create(new FakeDns(), new FakeTimeProvider(), null, "http://10.0.0.5:8080");

        Assert.Null(upstream.Resolver);
    }

    [Fact]
    public async Task Start_DualStackAnswer_UsesIPv4Only()
    {
        var dns = new FakeDns();
        dns.Answer("::1", "127.0.0.1", "fd00::2");
        await using var upstream = Create(dns, new FakeTimeProvider(), null, "http://users.internal:8080");

        await StartAsync(upstream);

        Assert.Equal(["127.0.0.1"], Addresses(upstream));
    }

    [Fact]
    public async Task Start_IPv6OnlyAnswer_UsesIPv6()
    {
        var dns = new FakeDns();
        dns.Answer("fd00::2", "fd00::1");
        await using var upstream = Create(dns, new FakeTimeProvider(), null, "http://users.internal:8080");

        await StartAsync(upstream);

        Assert.Equal(["fd00::1", "fd00::2"], Addresses(upstream));
        Assert.Equal("http://[fd00::1]:8080", upstream.Destinations[0].BaseAddress);
    }

    [Fact]
    public async Task Refresh_DnsRefreshPassed_LooksUpAgain()
    {
        var dns = new FakeDns();
        dns.Answer("10.0.0.1");
        var time = new FakeTimeProvider();
        await using var upstream = Create(dns, time, null, "http://users.internal:8080");
        await StartAsync(upstream);
        Assert.Single(dns.Queries);

        time.Advance(Refresh);

        await Wait.UntilAsync(() => dns.Queries.Count == 2, "a lookup when dnsRefresh has passed");
    }

    [Fact]
    public async Task Start_RealDnsLocalhost_ResolvesToLoopbackAndRequestsCarryTheName()
    {
        var hosts = new ConcurrentQueue<string>();
        await using var backend = await TestBackend.StartAsync(app => app.MapGet("/who", (HttpContext c) =>
        {
            hosts.Enqueue(c.Request.Host.Value!);
            return "hello";
        }));
        await using var upstream = new Upstream(
            "local",
            new ServiceConfig { Targets = [new TargetConfig { Url = $"http://localhost:{backend.Port}" }] },
            TimeProvider.System,
            NullLoggerFactory.Instance);

        upstream.Start();
        await Wait.UntilAsync(() => upstream.Resolver!.Refreshes >= 1, "the lookup of localhost");

        // IPv4 is preferred, so ::1 (where nothing listens) is not a destination even where localhost has both.
        var d = Assert.Single(upstream.Destinations);
        Assert.Equal("127.0.0.1", d.Address);
        Assert.Equal($"localhost:{backend.Port}", d.HostHeader);
        using var request = new HttpRequestMessage(HttpMethod.Get, d.BaseAddress + "/who");
        request.Headers.Host = d.HostHeader;
        using var response = await upstream.Invoker.SendAsync(request, CancellationToken.None);
        Assert.Equal("hello", await response.Content.ReadAsStringAsync());
        Assert.Equal([$"localhost:{backend.Port}"], hosts);
    }

    [Fact]
    public void IsDnsName_TellsNamesFromIpLiterals()
    {
        Assert.True(DnsDestinationResolver.IsDnsName(new Uri("http://users.internal:80")));
        Assert.True(DnsDestinationResolver.IsDnsName(new Uri("http://localhost:80")));
        Assert.False(DnsDestinationResolver.IsDnsName(new Uri("http://10.1.2.3:80")));
        Assert.False(DnsDestinationResolver.IsDnsName(new Uri("http://[::1]:80")));
    }

    /// <summary>
    /// An upstream that replaces another (a reload changed the service) and finds its targets by DNS: the addresses of
    /// its first lookup take the health the replaced upstream learned for the same addresses.
    /// </summary>
    [Fact]
    public async Task AReplacingUpstream_TakesTheEjectionOfTheSameAddress_AtItsFirstLookup()
    {
        var dns = new FakeDns();
        dns.Answer("10.0.0.1", "10.0.0.2");
        var time = new FakeTimeProvider();
        ServiceConfig Service(string timeout) => new()
        {
            Targets = [new TargetConfig { Url = "http://users.internal:8080" }],
            DnsRefresh = Refresh,
            Timeout = TimeSpan.Parse(timeout, System.Globalization.CultureInfo.InvariantCulture),
            HealthCheck = new HealthCheckConfig { Passive = new PassiveHealthCheckConfig { ConsecutiveFailures = 1, Cooldown = TimeSpan.FromHours(1) } },
        };
        await using var before = new Upstream("users", Service("00:00:30"), time, NullLoggerFactory.Instance, dns.ResolveAsync);
        await StartAsync(before);
        var bad = before.Destinations.Single(d => d.Address == "10.0.0.1");
        Assert.True(before.TryBeginRequest(bad));
        before.EndRequest(bad, failed: true);
        Assert.True(bad.IsEjected(time.GetTimestamp()));

        await using var after = new Upstream("users", Service("00:00:20"), time, NullLoggerFactory.Instance, dns.ResolveAsync);
        after.InheritHealth(before);
        await StartAsync(after);

        Assert.True(after.Destinations.Single(d => d.Address == "10.0.0.1").IsEjected(time.GetTimestamp()));
        Assert.False(after.Destinations.Single(d => d.Address == "10.0.0.2").IsEjected(time.GetTimestamp()));
        Assert.All(Enumerable.Range(0, 10).Select(_ => after.Pick()!), d => Assert.Equal("10.0.0.2", d.Address));
    }
}
