using System.Net;
using Gatehouse.Gateway.Tests.Access;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// Issue 23, a client's own Cache-Control (RFC 9111 §5.2.1): <c>no-store</c> always keeps its answer out of the cache;
/// <c>no-cache</c>, <c>max-age</c>, <c>min-fresh</c> and <c>Pragma: no-cache</c> pass over a held answer only on a route
/// with <c>clientCacheControl: true</c>; <c>only-if-cached</c> is answered from the cache or with 504, never by the
/// service; in memory and in Redis alike.
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

    [Theory]
    [InlineData("memory")]
    [InlineData("redis")]
    public async Task OnlyIfCached_ServedWhatIsUsable_ElseA504_AndTheServiceIsNeverAsked(string store)
    {
        await using var rig = await CacheRig.StartAsync(store, "{ ttl: 10s, staleWhileRevalidate: 30s, query: [page] }", (context, n) => context.Response.WriteAsync("v" + n));
        var onlyIfCached = ("Cache-Control", "max-stale, only-if-cached");

        var (cold, coldBody) = await rig.GetAsync("/users/1", KeyA, onlyIfCached);
        Assert.Equal(HttpStatusCode.GatewayTimeout, cold.StatusCode);
        Assert.Equal("application/problem+json", cold.Content.Headers.ContentType?.MediaType);
        Assert.Contains("urn:gatehouse:problem:not-cached", coldBody, StringComparison.Ordinal);
        Assert.Equal("miss", cold.Header("Gatehouse-Cache"));
        Assert.Equal(0, rig.Backend.Count);

        await rig.GetAsync("/users/1", KeyA);
        await rig.GetUntilHitAsync("/users/1", KeyA);
        var (fresh, freshBody) = await rig.GetAsync("/users/1", KeyA, onlyIfCached);
        Assert.Equal("hit", fresh.Header("Gatehouse-Cache"));
        Assert.Equal("v1", freshBody);

        // A request the cache bypasses (a query parameter outside the route's 'query') has nothing usable.
        var (bypassed, _) = await rig.GetAsync("/users/1?sort=name", KeyA, onlyIfCached);
        Assert.Equal(HttpStatusCode.GatewayTimeout, bypassed.StatusCode);

        // Stale within staleWhileRevalidate is usable; the refresh it would have made is left to the next request.
        rig.Time.Advance(TimeSpan.FromSeconds(20));
        var (stale, staleBody) = await rig.GetAsync("/users/1", KeyA, onlyIfCached);
        Assert.Equal("stale", stale.Header("Gatehouse-Cache"));
        Assert.Equal("v1", staleBody);
        Assert.Equal(1, rig.Backend.Count);
        var (refreshed, refreshedBody) = await rig.GetAsync("/users/1", KeyA);
        Assert.Equal("miss", refreshed.Header("Gatehouse-Cache"));
        Assert.Equal("v2", refreshedBody);

        // Past every stale window: nothing usable.
        rig.Time.Advance(TimeSpan.FromMinutes(5));
        var (expired, _) = await rig.GetAsync("/users/1", KeyA, onlyIfCached);
        Assert.Equal(HttpStatusCode.GatewayTimeout, expired.StatusCode);
        Assert.Equal(2, rig.Backend.Count);
    }
}
