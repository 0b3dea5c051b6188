using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// <c>cache.collapse</c>: concurrent misses of one key send the service one request, and the others are served its
/// answer from the cache; an answer that is not kept lets the waiting requests go on to the service; without
/// <c>collapse</c> each miss goes to the service.
/// </summary>
public sealed class CacheCollapseTests
{
    private const int Clients = 12;

    private static string Yaml(string backend, string cache) => $$"""
        version: 1
        services:
          api: { targets: [{{backend}}] }
        routes:
          items: { methods: [GET], path: "/items/{id}", service: api, policies: { cache: {{cache}} } }
        """;

    // A slow service (so the misses overlap), counting the requests it got; each answer is numbered (its own count: the
    // recording's number can repeat when two requests arrive at once). With holdUntil, the answers also wait until that
    // many requests have arrived (up to 3 s, shorter than the 5 s collapse below: a miss made to wait for another's answer
    // must still find it kept), so the misses overlap however slowly a loaded machine sends them.
    private static Task<RecordingBackend> SlowBackendAsync(string? cacheControl = null, int holdUntil = 0)
    {
        var answered = 0;
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return RecordingBackend.StartAsync(async (context, _) =>
        {
            var n = Interlocked.Increment(ref answered);
            if (n >= holdUntil)
            {
                allArrived.TrySetResult();
            }

            await Task.WhenAll(Task.Delay(400), Task.WhenAny(allArrived.Task, Task.Delay(TimeSpan.FromSeconds(3))));
            if (cacheControl is not null)
            {
                context.Response.Headers.CacheControl = cacheControl;
            }

            await context.Response.WriteAsync($"answer {n}");
        });
    }

    private static async Task<(string Status, string Body)[]> BurstAsync(TestGateway gateway)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = Enumerable.Range(0, Clients).Select(async _ =>
        {
            await start.Task;
            using var response = await gateway.Client.GetAsync("/items/7");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (response.Headers.GetValues("Gatehouse-Cache").Single(), await response.Content.ReadAsStringAsync());
        }).ToArray();
        start.SetResult();
        return await Task.WhenAll(calls);
    }

    [Fact]
    public async Task ConcurrentMisses_SendTheServiceOneRequest_AndTheRestAreServedItsAnswer()
    {
        await using var backend = await SlowBackendAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, shared: true, collapse: 5s }"));

        var answers = await BurstAsync(gateway);

        Assert.Equal(1, backend.Count);
        Assert.All(answers, a => Assert.Equal("answer 1", a.Body));
        Assert.Equal(1, answers.Count(a => a.Status == "miss"));
        Assert.Equal(Clients - 1, answers.Count(a => a.Status == "hit"));
    }

    [Fact]
    public async Task AnAnswerThatIsNotKept_LetsTheWaitingRequestsGoToTheService()
    {
        await using var backend = await SlowBackendAsync("no-store");
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, shared: true, collapse: 5s }"));

        var answers = await BurstAsync(gateway);

        Assert.Equal(Clients, backend.Count);
        Assert.Equal(Clients, answers.Select(a => a.Body).Distinct().Count());
        Assert.All(answers, a => Assert.Equal("miss", a.Status));
    }

    [Fact]
    public async Task WithoutCollapse_EachMissGoesToTheService()
    {
        // Held until every request is in: with 400 ms alone, a request that reached the gateway after the first answer was
        // kept would be a hit, not a miss (twelve new connections are slow to open on a loaded machine).
        await using var backend = await SlowBackendAsync(holdUntil: Clients);
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, shared: true }"));

        var answers = await BurstAsync(gateway);

        Assert.Equal(Clients, backend.Count);
        Assert.All(answers, a => Assert.Equal("miss", a.Status));
    }
}
