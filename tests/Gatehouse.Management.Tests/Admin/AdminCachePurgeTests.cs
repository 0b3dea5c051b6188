using System.Net;
using System.Text;
using Gatehouse.Gateway.Policies.Caching;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Config;

namespace Gatehouse.Management.Tests.Admin;

/// <summary>
/// Issue 23: <c>POST /admin/cache/purge</c> over the shared cache (a real redis-server): the purge is taken by Redis
/// (<c>purged: null</c>, uncounted), and a Redis that is down answers 503 problem+json instead of a 500.
/// </summary>
[Trait("Issue", "23")]
public sealed class AdminCachePurgeTests
{
    private static Task<HttpResponseMessage> PurgeAsync(AdminHarness admin, string body) =>
        admin.Client.PostAsync("/admin/cache/purge", new StringContent(body, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task PurgeOfTheSharedCache_IsTakenByRedis_AndRedisDown_Is503ProblemJson()
    {
        await using var redis = await RedisServer.StartNewAsync();
        // 5 s: the purge that is taken must not time out on a loaded machine (300 ms was all its round trip had); the one
        // made with Redis down is refused whatever the timeout (it waits for a connection, then fails fast).
        using var store = new ResponseCacheStore(new ResponseCacheConfig { Redis = redis.Configuration, Timeout = TimeSpan.FromSeconds(5) });
        await using var admin = await AdminHarness.StartAsync(purgeCache: store.PurgeAsync);

        using (var taken = await PurgeAsync(admin, """{"route":"users","path":"/users/1"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, taken.StatusCode);
            var body = await AdminHarness.ReadObjectAsync(taken);
            Assert.Null(body["purged"]);
            Assert.Equal("/users/1", body["path"]!.GetValue<string>());
        }

        await redis.StopAsync();
        using var down = await PurgeAsync(admin, """{"route":"users"}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("application/problem+json", down.Content.Headers.ContentType?.MediaType);
        var problem = await AdminHarness.ReadObjectAsync(down);
        Assert.EndsWith("cache-store-down", problem["type"]!.GetValue<string>());
        Assert.Contains("nothing was purged", problem["detail"]!.GetValue<string>());
    }
    [Fact]
    public async Task PurgeWhileTheFirstConnectionIsStillBeingMade_WaitsForIt_AndIsTaken()
    {
        // Redis comes up only after the gateway started (on a loaded machine, the first connection took longer than the
        // 1 s connect timeout): requests fail fast meanwhile, but an admin purge waits for the connection.
        await using var redis = await RedisServer.StartNewAsync();
        await redis.StopAsync();
        using var store = new ResponseCacheStore(new ResponseCacheConfig { Redis = redis.Configuration, Timeout = TimeSpan.FromMilliseconds(300) });
        await redis.StartAsync();
        await using var admin = await AdminHarness.StartAsync(purgeCache: store.PurgeAsync);

        using var taken = await PurgeAsync(admin, """{"route":"users"}""");
        Assert.Equal(HttpStatusCode.OK, taken.StatusCode);
        Assert.Null((await AdminHarness.ReadObjectAsync(taken))["purged"]);
    }
}
