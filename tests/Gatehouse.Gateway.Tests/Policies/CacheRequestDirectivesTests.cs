using Gatehouse.Gateway.Tests.Access;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// Issue 23, a client's own Cache-Control (RFC 9111 §5.2.1): <c>no-store</c> always keeps its answer out of the cache;
/// <c>no-cache</c>, <c>max-age</c>, <c>min-fresh</c> and <c>Pragma: no-cache</c> pass over a held answer only on a route
/// with <c>clientCacheControl: true</c>, in memory and in Redis alike.
/// </summary>
[Trait("Issue", "23")]
public sealed class CacheRequestDirectivesTests
{
    private static readonly TestKey KeyA = CacheRig.KeyA;
    private static readonly TestKey KeyB = CacheRig.KeyB;

    [Theory]
    [InlineData("memory")]
    [InlineData("redis")]
    public async Task RequestNoStore_ItsAnswerIsNotKept_ButAHeldAnswerStillServesIt(string store)
    {
        await using var rig = await CacheRig.StartAsync(store, "{ ttl: 60s, shared: true }", (context, n) => context.Response.WriteAsync("v" + n));

        var (first, _) = await rig.GetAsync("/users/1", KeyA, ("Cache-Control", "no-store"));
        await rig.GetAsync("/users/control", KeyA);
        await rig.GetUntilHitAsync("/users/control", KeyA); // whatever was written before it is in the store
        var (second, secondBody) = await rig.GetAsync("/users/1", KeyB);
        await rig.GetUntilHitAsync("/users/1", KeyB);
        var (held, heldBody) = await rig.GetAsync("/users/1", KeyA, ("Cache-Control", "no-store"));

        Assert.Equal("miss", first.Header("Gatehouse-Cache"));
        Assert.Equal("miss", second.Header("Gatehouse-Cache"));
        Assert.Equal("v3", secondBody);
        Assert.Equal("hit", held.Header("Gatehouse-Cache"));
        Assert.Equal("v3", heldBody);
        Assert.Equal(3, rig.Backend.Count);
    }

    // The held answer is 10 s old and fresh for 50 s more when the request comes.
    [Theory]
    [InlineData("memory", true, "Cache-Control", "no-cache", true)]
    [InlineData("redis", true, "Cache-Control", "no-cache", true)]
    [InlineData("memory", true, "Pragma", "no-cache", true)]
    [InlineData("memory", true, "Cache-Control", "max-age=5", true)]
    [InlineData("redis", true, "Cache-Control", "max-age=0", true)]
    [InlineData("memory", true, "Cache-Control", "max-age=20", false)]
    [InlineData("memory", true, "Cache-Control", "min-fresh=55", true)]
    [InlineData("memory", true, "Cache-Control", "min-fresh=30", false)]
    [InlineData("memory", false, "Cache-Control", "no-cache", false)]
    [InlineData("redis", false, "Cache-Control", "max-age=0", false)]
    [InlineData("memory", false, "Pragma", "no-cache", false)]
    public async Task ClientCacheControl_PassesOverAHeldAnswer_OnlyWhenTheRouteAllowsIt_AndTheFreshAnswerIsKeptForAll(string store, bool allowed, string name, string value, bool refreshed)
    {
        await using var rig = await CacheRig.StartAsync(store, $"{{ ttl: 60s, shared: true, clientCacheControl: {(allowed ? "true" : "false")} }}",
            (context, n) => context.Response.WriteAsync("v" + n));

        await rig.GetAsync("/users/1", KeyA);
        await rig.GetUntilHitAsync("/users/1", KeyA);
        rig.Time.Advance(TimeSpan.FromSeconds(10));
        var (asked, askedBody) = await rig.GetAsync("/users/1", KeyB, (name, value));
        var expected = refreshed ? "v2" : "v1";
        var (after, afterBody) = await rig.GetUntilAsync("/users/1", KeyA, answer => answer.Body == expected);

        Assert.Equal(refreshed ? "miss" : "hit", asked.Header("Gatehouse-Cache"));
        Assert.Equal(expected, askedBody);
        Assert.Equal("hit", after.Header("Gatehouse-Cache"));
        Assert.Equal(expected, afterBody); // the service's new answer replaced the held one for everyone
        Assert.Equal(refreshed ? 2 : 1, rig.Backend.Count);
    }
}
