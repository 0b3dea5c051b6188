using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Management.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// A real upstream and a real gateway (applications a and b on one plan, route <c>users</c> on <c>/users/{id}</c> with the
/// given cache) whose cache is in memory or in a real redis-server, on a fake clock.
/// </summary>
internal sealed class CacheRig(RedisServer? redis, RecordingBackend backend, TestGateway gateway, FakeTimeProvider time) : IAsyncDisposable
{
    public static readonly TestKey KeyA = TestKey.New();

    public static readonly TestKey KeyB = TestKey.New();

    public RecordingBackend Backend => backend;

    public FakeTimeProvider Time => time;

    public TestGateway Gateway => gateway;

    /// <param name="routes">More routes on service <c>api</c>, as YAML lines under <c>routes:</c> (indented two spaces).</param>
    public static async Task<CacheRig> StartAsync(string store, string cache, Func<HttpContext, int, Task> answer, string routes = "")
    {
        var redis = store == "redis" ? await RedisServer.StartNewAsync() : null;
        var backend = await RecordingBackend.StartAsync(answer);
        var time = new FakeTimeProvider();

        // With Redis, a 5 s timeout: the first connection on a loaded machine can outlast a short one (see SharedCacheTests).
        var gatewayCache = redis is null ? "" : $$"""
            gateway:
              cache: { redis: "{{redis.Configuration}}", timeout: 5s }
            """;
        var yaml = $$"""
            version: 1
            {{gatewayCache}}
            services:
              api: { targets: [{{backend.Url}}] }
            routes:
              users: { methods: [GET], path: "/users/{id}", service: api, policies: { cache: {{cache}} } }
              {{routes}}
            plans:
              retail: { include: [ { path: "/**" } ] }
            accounts: { acme: {} }
            applications:
              a: { account: acme, plan: retail, keys: [ { sha256: {{KeyA.Sha256}} } ] }
              b: { account: acme, plan: retail, keys: [ { sha256: {{KeyB.Sha256}} } ] }
            """;
        var gateway = await TestGateway.StartAsync(yaml, time: time);
        return new CacheRig(redis, backend, gateway, time);
    }

    public Task<(HttpResponseMessage Response, string Body)> GetAsync(string path, TestKey key, params (string, string)[] headers) =>
        PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, path, [("X-Api-Key", key.Plaintext), .. headers]);

    public Task<(HttpResponseMessage Response, string Body)> SendAsync(HttpMethod method, string path, TestKey key, params (string, string)[] headers) =>
        PolicyHttp.SendAsync(gateway.Client, method, path, [("X-Api-Key", key.Plaintext), .. headers]);

    // The write of a miss's answer to Redis does not hold the response back: ask until it is in the store.
    public Task<(HttpResponseMessage Response, string Body)> GetUntilHitAsync(string path, TestKey key) =>
        GetUntilAsync(path, key, answer => answer.Response.Header("Gatehouse-Cache") == "hit");

    /// <summary>Asks until the answer is as <paramref name="done"/> says (a write reached Redis), or the wait's timeout; returns the last answer.</summary>
    public async Task<(HttpResponseMessage Response, string Body)> GetUntilAsync(string path, TestKey key, Func<(HttpResponseMessage Response, string Body), bool> done)
    {
        var deadline = DateTime.UtcNow + Wait.DefaultTimeout;
        while (true)
        {
            var answer = await GetAsync(path, key);
            if (done(answer) || DateTime.UtcNow > deadline)
            {
                return answer;
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await gateway.DisposeAsync();
        await backend.DisposeAsync();
        if (redis is not null)
        {
            await redis.DisposeAsync();
        }
    }
}
