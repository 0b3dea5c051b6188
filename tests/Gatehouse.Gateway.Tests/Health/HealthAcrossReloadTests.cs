using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Health;

/// <summary>
/// A reload that changes a service (or renews its TLS files) gives it a new upstream; what health checks learned about
/// its targets goes with it, so a target that is out stays out instead of getting traffic until it fails again.
/// </summary>
public sealed class HealthAcrossReloadTests
{
    private static string Yaml(string live, string dead, string timeout, string health) => $$"""
        version: 1
        services:
          svc:
            targets: ["{{live}}", "{{dead}}"]
            timeout: {{timeout}}
            healthCheck: {{health}}
        routes:
          all: { path: "/{**rest}", service: svc }
        """;

    [Fact]
    public async Task ATargetTheProbesTookOut_StaysOutAfterAReloadThatChangesItsService()
    {
        var deadHealthy = 1;
        await using var live = await TestBackend.StartAsync(context => context.Response.WriteAsync("live"));
        await using var dead = await TestBackend.StartAsync(context =>
        {
            if (context.Request.Path == "/health")
            {
                context.Response.StatusCode = Volatile.Read(ref deadHealthy) == 1 ? 200 : 503;
                return Task.CompletedTask;
            }

            context.Response.StatusCode = 500;
            return context.Response.WriteAsync("dead");
        });
        // Slow probes: after the reload the new upstream's first probe comes at once, but taking the target out again
        // would need three failed probes in a row, 6 s at least; the requests below are all made before that.
        const string health = "{ active: { path: /health, interval: 2s, timeout: 1s, healthyThreshold: 1, unhealthyThreshold: 3 } }";
        await using var gateway = await TestGateway.StartAsync(Yaml(live.Url, dead.Url, "30s", health));
        Volatile.Write(ref deadHealthy, 0);
        await Wait.UntilAsync(async () => (await Bodies(gateway, 6)).All(b => b == "live"), TimeSpan.FromSeconds(30), "the probes to take the failing target out");

        Assert.Empty(gateway.Host.Runtime.Apply(TestGateway.Parse(Yaml(live.Url, dead.Url, "20s", health))));

        Assert.All(await Bodies(gateway, 20), b => Assert.Equal("live", b));
    }

    [Fact]
    public async Task ATargetItsFailuresEjected_StaysEjectedAfterAReloadThatChangesItsService()
    {
        await using var live = await TestBackend.StartAsync(context => context.Response.WriteAsync("live"));
        await using var dead = await TestBackend.StartAsync(context =>
        {
            context.Response.StatusCode = 502;
            return context.Response.WriteAsync("dead");
        });
        const string health = "{ passive: { consecutiveFailures: 1, cooldown: 1h } }";
        await using var gateway = await TestGateway.StartAsync(Yaml(live.Url, dead.Url, "30s", health));
        Assert.Contains("dead", await Bodies(gateway, 4));
        Assert.All(await Bodies(gateway, 6), b => Assert.Equal("live", b));

        Assert.Empty(gateway.Host.Runtime.Apply(TestGateway.Parse(Yaml(live.Url, dead.Url, "20s", health))));

        Assert.All(await Bodies(gateway, 20), b => Assert.Equal("live", b));
    }

    private static async Task<List<string>> Bodies(TestGateway gateway, int count)
    {
        var bodies = new List<string>();
        for (var i = 0; i < count; i++)
        {
            using var response = await gateway.Client.GetAsync("/x");
            bodies.Add(await response.Content.ReadAsStringAsync());
        }

        return bodies;
    }
}
