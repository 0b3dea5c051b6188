using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Health;

/// <summary>Through a real gateway: when health checks take every target out, clients get a clear 503.</summary>
public sealed class NoHealthyUpstreamTests
{
    [Fact]
    public async Task EveryTargetUnhealthy_Gets503Problem_AndRecoveryBringsTrafficBack()
    {
        var healthy = 1;
        await using var backend = await TestBackend.StartAsync(context =>
        {
            if (context.Request.Path == "/health")
            {
                context.Response.StatusCode = Volatile.Read(ref healthy) == 1 ? 200 : 503;
                return Task.CompletedTask;
            }

            return context.Response.WriteAsync("served");
        });
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              svc:
                targets: ["{{backend.Url}}"]
                healthCheck:
                  active: { path: /health, interval: 200ms, timeout: 190ms, healthyThreshold: 1, unhealthyThreshold: 1 }
            routes:
              all: { path: "/{**rest}", service: svc }
            """);
        // Probes run from the start; a slow first one (a cold process under load) may take the target out for a round.
        await Wait.UntilAsync(async () => (await gateway.Client.GetAsync("/x")).StatusCode == HttpStatusCode.OK,
            "the target to serve while healthy");

        Volatile.Write(ref healthy, 0);
        HttpResponseMessage? refused = null;
        await Wait.UntilAsync(async () =>
        {
            refused = await gateway.Client.GetAsync("/x");
            return refused.StatusCode == HttpStatusCode.ServiceUnavailable;
        }, "the only target to be taken out");

        Assert.Equal("application/problem+json", refused!.Content.Headers.ContentType?.MediaType);
        Assert.Contains("no-healthy-upstream", await refused.Content.ReadAsStringAsync());

        Volatile.Write(ref healthy, 1);
        await Wait.UntilAsync(async () => (await gateway.Client.GetAsync("/x")).StatusCode == HttpStatusCode.OK,
            "the target to come back");
    }
}
