using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Model.Registrations;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Discovery;

/// <summary>
/// Self-registered targets in the runtime (issue #5): they join the service's upstream beside its configured targets,
/// survive applies, and leave at their expiresAt by the gateway's own clock, with no call from the store.
/// </summary>
public sealed class RegisteredTargetTests
{
    private static string Yaml(string service, string timeout = "30s") => $$"""
        version: 1
        services:
          users:
            timeout: {{timeout}}
        {{service}}
        routes:
          all:
            path: /{**rest}
            service: users
        """;

    private static readonly string RegistrationOnly = Yaml("""
            registration: { ttl: 10s }
        """);

    private static Task<TestBackend> NamedBackendAsync(string name) => TestBackend.StartAsync(context => context.Response.WriteAsync(name));

    private static Dictionary<string, IReadOnlyList<RegisteredTarget>> Live(string service, DateTimeOffset expiresAt, params string[] urls) =>
        new() { [service] = [.. urls.Select(u => new RegisteredTarget(new Uri(u), expiresAt))] };

    private static async Task<HashSet<string>> AnswersAsync(HttpClient client, int requests = 8)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < requests; i++)
        {
            using var response = await client.GetAsync("/x");
            seen.Add(response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadAsStringAsync() : ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return seen;
    }

    [Fact]
    public async Task SetRegistrations_TwoTargetsAndNoConfiguredOnes_BothGetTraffic()
    {
        await using var a = await NamedBackendAsync("a");
        await using var b = await NamedBackendAsync("b");
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(RegistrationOnly, time: time);

        Assert.Equal(["503"], await AnswersAsync(gateway.Client, 1));
        gateway.Host.Runtime.SetRegistrations(Live("users", time.GetUtcNow().AddSeconds(10), a.Url, b.Url));

        Assert.Equal(["a", "b"], (await AnswersAsync(gateway.Client)).Order());
    }

    [Fact]
    public async Task Registration_PastItsExpiresAt_LeavesWithNoFurtherCall()
    {
        await using var a = await NamedBackendAsync("a");
        await using var b = await NamedBackendAsync("b");
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(RegistrationOnly, time: time);
        var now = time.GetUtcNow();
        gateway.Host.Runtime.SetRegistrations(new Dictionary<string, IReadOnlyList<RegisteredTarget>>
        {
            ["users"] = [new RegisteredTarget(new Uri(a.Url), now.AddSeconds(2)), new RegisteredTarget(new Uri(b.Url), now.AddSeconds(5))],
        });
        Assert.Equal(["a", "b"], (await AnswersAsync(gateway.Client)).Order());

        // Nothing tells the runtime again (as when the store is unreachable): its own timer drops each at its time.
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal([new Uri(b.Url)], gateway.Host.Runtime.RegisteredDestinations()["users"]);
        Assert.Equal(["b"], await AnswersAsync(gateway.Client));

        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Empty(gateway.Host.Runtime.RegisteredDestinations()["users"]);
        Assert.Equal(["503"], await AnswersAsync(gateway.Client, 2));
    }

    [Fact]
    public async Task SetRegistrations_WithoutATarget_DropsItAtOnce()
    {
        await using var a = await NamedBackendAsync("a");
        await using var b = await NamedBackendAsync("b");
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(RegistrationOnly, time: time);
        var expires = time.GetUtcNow().AddSeconds(10);
        gateway.Host.Runtime.SetRegistrations(Live("users", expires, a.Url, b.Url));
        var kept = gateway.Host.Runtime.Current.Upstreams["users"].Registered.Single(d => d.Target == new Uri(a.Url));

        gateway.Host.Runtime.SetRegistrations(Live("users", expires.AddSeconds(10), a.Url));

        Assert.Equal(["a"], await AnswersAsync(gateway.Client));
        // A renewed target is the same destination, so its health state carries over a heartbeat.
        Assert.Same(kept, Assert.Single(gateway.Host.Runtime.Current.Upstreams["users"].Registered));
    }

    [Fact]
    public async Task Apply_OfARevisionThatRebuildsTheUpstream_KeepsRegisteredTargets()
    {
        await using var a = await NamedBackendAsync("a");
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(RegistrationOnly, time: time);
        gateway.Host.Runtime.SetRegistrations(Live("users", time.GetUtcNow().AddSeconds(10), a.Url));
        var before = gateway.Host.Runtime.Current.Upstreams["users"];

        // A new timeout changes the service's fingerprint: a new upstream, which must get the registrations too.
        var next = TestGateway.Parse(Yaml("    registration: { ttl: 10s }", timeout: "20s")) with { Gateway = gateway.Host.Runtime.Current.Config.Gateway };
        Assert.Empty(gateway.Host.Runtime.Apply(next));

        Assert.NotSame(before, gateway.Host.Runtime.Current.Upstreams["users"]);
        Assert.Equal(["a"], await AnswersAsync(gateway.Client));
    }

    [Fact]
    public async Task Registrations_BesideConfiguredTargets_ShareTheTraffic_AndAConfiguredUrlIsNotAddedTwice()
    {
        await using var a = await NamedBackendAsync("a");
        await using var b = await NamedBackendAsync("b");
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(Yaml($$"""
                targets: [{{a.Url}}]
                registration: {}
            """), time: time);

        gateway.Host.Runtime.SetRegistrations(Live("users", time.GetUtcNow().AddSeconds(10), a.Url, b.Url));

        Assert.Equal(["a", "b"], (await AnswersAsync(gateway.Client)).Order());
        Assert.Equal(2, gateway.Host.Runtime.Current.Upstreams["users"].Destinations.Length);
    }

    [Fact]
    public async Task Registrations_OfAServiceWithoutRegistrationSettings_AreIgnored()
    {
        await using var a = await NamedBackendAsync("a");
        await using var b = await NamedBackendAsync("b");
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(Yaml($"    targets: [{a.Url}]"), time: time);

        gateway.Host.Runtime.SetRegistrations(Live("users", time.GetUtcNow().AddSeconds(10), b.Url));

        Assert.Equal(["a"], await AnswersAsync(gateway.Client));
    }

    [Fact]
    public async Task Registrations_OutsideAllowedNetworks_AreIgnoredByTheGatewayToo()
    {
        await using var a = await NamedBackendAsync("a");
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(Yaml("    registration: { allowedNetworks: [10.0.0.0/8] }"), time: time);

        gateway.Host.Runtime.SetRegistrations(Live("users", time.GetUtcNow().AddSeconds(10), a.Url));

        Assert.Empty(gateway.Host.Runtime.RegisteredDestinations()["users"]);
        Assert.Equal(["503"], await AnswersAsync(gateway.Client, 1));
    }
}
