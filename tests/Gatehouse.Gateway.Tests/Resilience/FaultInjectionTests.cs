using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Resilience;

/// <summary>Issue 20: fault injection per route.</summary>
public sealed class FaultInjectionTests
{
    [Fact]
    public async Task TenPercentAborts_Give10PercentPlusOrMinus2_Over2000Requests()
    {
        var served = 0;
        await using var backend = await TestBackend.StartAsync(context =>
        {
            Interlocked.Increment(ref served);
            return Task.CompletedTask;
        });
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              svc: { targets: [{{backend.Url}}] }
            routes:
              all:
                path: "/{**rest}"
                service: svc
                faults: { abort: { percent: 10, status: 503 } }
            """);

        var aborted = 0;
        for (var i = 0; i < 2000; i++)
        {
            using var response = await gateway.Client.GetAsync("/x");
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                Assert.Contains("fault-injected", await response.Content.ReadAsStringAsync());
                aborted++;
            }
        }

        Assert.InRange(aborted, 160, 240);
        Assert.Equal(2000 - aborted, Volatile.Read(ref served));
    }

    [Fact]
    public async Task Faults_OnlyForRequestsWithTheHeader_AndFromTheAddressesGiven()
    {
        await using var backend = await TestBackend.StartAsync(_ => Task.CompletedTask);
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              svc: { targets: [{{backend.Url}}] }
            routes:
              loopback:
                path: "/a"
                service: svc
                faults: { abort: { percent: 100, status: 418 }, header: X-Chaos, from: [127.0.0.0/8] }
              elsewhere:
                path: "/b"
                service: svc
                faults: { abort: { percent: 100, status: 418 }, from: [10.0.0.0/8] }
            """);

        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/a")).StatusCode);
        using var chaos = new HttpRequestMessage(HttpMethod.Get, "/a") { Headers = { { "X-Chaos", "1" } } };
        Assert.Equal((HttpStatusCode)418, (await gateway.Client.SendAsync(chaos)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/b")).StatusCode);
    }
}
