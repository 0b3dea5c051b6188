using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Resilience;

/// <summary>Issue 20: a service's concurrency limits answer 503 upstream-overloaded past them, or hold requests in line.</summary>
public sealed class ConcurrencyLimitTests
{
    [Theory]
    [InlineData(0, HttpStatusCode.ServiceUnavailable)]
    [InlineData(1, HttpStatusCode.OK)]
    public async Task PastMaxRequests_IsRefusedOrWaits_AsMaxPendingSays(int maxPending, HttpStatusCode third)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = 0;
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            Interlocked.Increment(ref arrived);
            await release.Task;
        });
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              svc:
                targets: [{{backend.Url}}]
                concurrency: { maxRequests: 2, maxPending: {{maxPending}} }
            routes:
              all: { path: "/{**rest}", service: svc }
            """);

        var first = gateway.Client.GetAsync("/1");
        var second = gateway.Client.GetAsync("/2");
        await Wait.UntilAsync(() => Volatile.Read(ref arrived) == 2, "two requests at the backend");
        var refusedOrWaiting = gateway.Client.GetAsync("/3");
        if (maxPending == 0)
        {
            using var refused = await refusedOrWaiting;
            Assert.Equal(third, refused.StatusCode);
            Assert.Contains("upstream-overloaded", await refused.Content.ReadAsStringAsync());
        }

        release.SetResult();
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second).StatusCode);
        if (maxPending > 0)
        {
            Assert.Equal(third, (await refusedOrWaiting).StatusCode);
        }
    }
}
