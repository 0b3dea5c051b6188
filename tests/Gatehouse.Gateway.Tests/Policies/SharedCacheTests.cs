using System.Net;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Management.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// Issue 23, Redis as the shared cache store: two gateways on one real redis-server serve each other's answers, keep
/// applications apart, purge for both, and forward as misses (never fail) while Redis is down.
/// </summary>
[Trait("Issue", "23")]
public sealed class SharedCacheTests
{
    private static readonly TestKey KeyA = TestKey.New();
    private static readonly TestKey KeyB = TestKey.New();

    // A 5 s timeout, not 300 ms: no test here waits on a slow Redis (a stopped one refuses at once), and the timeout is
    // also the connect timeout (at least 1 s), which a fresh node's first connection on a loaded machine can outlast (a
    // look before it is up is a miss where a hit is due), as can a look's round trip with both cores busy.
    private static string Yaml(string backend, string redis, string cache) => $$"""
        version: 1
        gateway:
          cache: { redis: "{{redis}}", timeout: 5s }
        services:
          api: { targets: [{{backend}}] }
        routes:
          users: { methods: [GET], path: "/users/{id}", service: api, policies: { cache: {{cache}} } }
        plans:
          retail: { include: [ { path: "/**", access: read } ] }
        accounts: { acme: {} }
        applications:
          a: { account: acme, plan: retail, keys: [ { sha256: {{KeyA.Sha256}} } ] }
          b: { account: acme, plan: retail, keys: [ { sha256: {{KeyB.Sha256}} } ] }
        """;

    // Nodes behind one name get one Host (the host is part of the key); here each listens on its own port.
    private static Task<(HttpResponseMessage Response, string Body)> GetAsync(TestGateway gateway, string path, TestKey key) =>
        PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, path, [("X-Api-Key", key.Plaintext), ("Host", "api.example")]);

    // The write of a miss's answer does not hold the response back: it may land just after the client has the answer.
    // The node that kept it asks until it is in Redis, so that the other node's first look is the test.
    private static async Task<(HttpResponseMessage Response, string Body)> GetUntilHitAsync(TestGateway gateway, string path, TestKey key)
    {
        var deadline = DateTime.UtcNow + Wait.DefaultTimeout;
        while (true)
        {
            var answer = await GetAsync(gateway, path, key);
            if (answer.Response.Header("Gatehouse-Cache") == "hit" || DateTime.UtcNow > deadline)
            {
                return answer;
            }

            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task AnswerKeptByOneNode_IsAHitOnTheOther_WithAge()
    {
        await using var redis = await RedisServer.StartNewAsync();
        await using var backend = await RecordingBackend.StartAsync();
        var time = new FakeTimeProvider();
        var yaml = Yaml(backend.Url, redis.Configuration, "{ ttl: 30s }");
        await using var one = await TestGateway.StartAsync(yaml, time: time);
        await using var two = await TestGateway.StartAsync(yaml, time: time);

        var (first, firstBody) = await GetAsync(one, "/users/1", KeyA);
        await GetUntilHitAsync(one, "/users/1", KeyA);
        time.Advance(TimeSpan.FromSeconds(6));
        var (second, secondBody) = await GetAsync(two, "/users/1", KeyA);

        Assert.Equal("miss", first.Header("Gatehouse-Cache"));
        Assert.Equal("hit", second.Header("Gatehouse-Cache"));
        Assert.Equal("6", second.Header("Age"));
        Assert.Equal(firstBody, secondBody);
        Assert.Equal(1, backend.Count);
    }

    [Fact]
    public async Task ApplicationAsAnswer_IsNeverServedToB_UnlessShared()
    {
        await using var redis = await RedisServer.StartNewAsync();
        await using var backend = await RecordingBackend.StartAsync();
        await using var one = await TestGateway.StartAsync(Yaml(backend.Url, redis.Configuration, "{ ttl: 30s }"));
        await using var two = await TestGateway.StartAsync(Yaml(backend.Url, redis.Configuration, "{ ttl: 30s }"));

        await GetAsync(one, "/users/1", KeyA);
        await GetUntilHitAsync(one, "/users/1", KeyA); // A's answer is in Redis
        var (a, _) = await GetAsync(two, "/users/1", KeyA);
        var (b, _) = await GetAsync(two, "/users/1", KeyB);
        Assert.Equal("hit", a.Header("Gatehouse-Cache"));
        Assert.Equal("miss", b.Header("Gatehouse-Cache"));
        Assert.Equal(2, backend.Count);

        await using var sharedBackend = await RecordingBackend.StartAsync();
        await using var three = await TestGateway.StartAsync(Yaml(sharedBackend.Url, redis.Configuration, "{ ttl: 30s, shared: true }"));
        await using var four = await TestGateway.StartAsync(Yaml(sharedBackend.Url, redis.Configuration, "{ ttl: 30s, shared: true }"));
        await GetAsync(three, "/users/1", KeyA);
        await GetUntilHitAsync(three, "/users/1", KeyA);
        var (sharedB, _) = await GetAsync(four, "/users/1", KeyB);
        Assert.Equal("hit", sharedB.Header("Gatehouse-Cache"));
        Assert.Equal(1, sharedBackend.Count);
    }

    [Fact]
    public async Task Purge_OnOneNode_ReachesTheOther_ByPathAndByRoute()
    {
        await using var redis = await RedisServer.StartNewAsync();
        await using var backend = await RecordingBackend.StartAsync();
        var yaml = Yaml(backend.Url, redis.Configuration, "{ ttl: 30s, shared: true }");
        await using var one = await TestGateway.StartAsync(yaml);
        await using var two = await TestGateway.StartAsync(yaml);
        await GetAsync(one, "/users/1", KeyA);
        await GetAsync(one, "/users/2", KeyA);
        await GetUntilHitAsync(one, "/users/1", KeyA);
        await GetUntilHitAsync(one, "/users/2", KeyA);
        Assert.Equal("hit", (await GetAsync(two, "/users/1", KeyA)).Response.Header("Gatehouse-Cache"));
        Assert.Equal("hit", (await GetAsync(two, "/users/2", KeyA)).Response.Header("Gatehouse-Cache"));
        Assert.Equal(2, backend.Count);

        Assert.Null(await one.Host.Runtime.Cache!.PurgeAsync("users", "/users/1"));
        Assert.Equal("miss", (await GetAsync(two, "/users/1", KeyA)).Response.Header("Gatehouse-Cache"));
        Assert.Equal("hit", (await GetAsync(two, "/users/2", KeyA)).Response.Header("Gatehouse-Cache"));

        Assert.Null(await one.Host.Runtime.Cache.PurgeAsync("users", null));
        Assert.Equal("miss", (await GetAsync(two, "/users/2", KeyA)).Response.Header("Gatehouse-Cache"));
    }

    [Fact]
    public async Task StaleIfError_OneNodeServesTheStaleAnswerAnotherKept_WhenTheServiceFails()
    {
        var failing = false;
        await using var redis = await RedisServer.StartNewAsync();
        await using var backend = await RecordingBackend.StartAsync(async (context, n) =>
        {
            context.Response.StatusCode = failing ? 503 : 200;
            await context.Response.WriteAsync(failing ? "down" : "good");
        });
        var time = new FakeTimeProvider();
        var yaml = Yaml(backend.Url, redis.Configuration, "{ ttl: 10s, shared: true, staleIfError: 1m }");
        await using var one = await TestGateway.StartAsync(yaml, time: time);
        await using var two = await TestGateway.StartAsync(yaml, time: time);
        await GetAsync(one, "/users/1", KeyA);
        await GetUntilHitAsync(one, "/users/1", KeyA);

        failing = true;
        time.Advance(TimeSpan.FromSeconds(20));
        var (stale, body) = await GetAsync(two, "/users/1", KeyA);
        time.Advance(TimeSpan.FromMinutes(2));
        var (gone, goneBody) = await GetAsync(two, "/users/1", KeyB);

        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        Assert.Equal("stale", stale.Header("Gatehouse-Cache"));
        Assert.Equal("good", body);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, gone.StatusCode);
        Assert.Equal("down", goneBody);
    }

    [Fact]
    public async Task RedisKilled_RequestsAreForwardedAsMisses_LoggedOnce_AndPurgeSaysSo()
    {
        await using var redis = await RedisServer.StartNewAsync();
        await using var backend = await RecordingBackend.StartAsync();
        using var logs = new CapturingLoggerProvider();
        var yaml = Yaml(backend.Url, redis.Configuration, "{ ttl: 30s, shared: true }");
        await using var one = await TestGateway.StartAsync(yaml, logs: logs);
        await GetAsync(one, "/users/1", KeyA);
        Assert.Equal("hit", (await GetUntilHitAsync(one, "/users/1", KeyA)).Response.Header("Gatehouse-Cache"));

        await redis.StopAsync();
        for (var i = 0; i < 3; i++)
        {
            var (down, body) = await GetAsync(one, "/users/1", KeyA);
            Assert.Equal(HttpStatusCode.OK, down.StatusCode);
            Assert.Equal("miss", down.Header("Gatehouse-Cache"));
            Assert.NotEmpty(body);
        }

        Assert.Equal(4, backend.Count);
        Assert.Single(logs.Entries, e => e.Category == "Gatehouse.Cache" && e.Level == LogLevel.Warning);
        await Assert.ThrowsAsync<Gatehouse.Gateway.Policies.Caching.CacheStoreDownException>(() => one.Host.Runtime.Cache!.PurgeAsync("users", null));
    }
}
