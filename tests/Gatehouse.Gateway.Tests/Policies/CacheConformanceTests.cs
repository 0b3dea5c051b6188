using System.Globalization;
using System.Net;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Management.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// Issue 23, the cache as RFC 9111 asks of a shared cache (and RFC 5861's stale windows): what the service's
/// Cache-Control, Expires, Date and Age allow, against a real gateway and a real upstream, with each node's memory and
/// with a real redis-server as the store (both must behave the same).
/// </summary>
[Trait("Issue", "23")]
public sealed class CacheConformanceTests
{
    private static readonly TestKey KeyA = CacheRig.KeyA;
    private static readonly TestKey KeyB = CacheRig.KeyB;

    // A path whose answer is always kept: once it is a hit, every write sent to Redis before it has landed too (one
    // connection, in order), so a miss of the path under test after it means "not kept", not "not written yet".
    private const string Control = "/users/control";

    [Theory]
    [InlineData("memory", "must-revalidate, max-age=10")]
    [InlineData("redis", "must-revalidate, max-age=10")]
    [InlineData("memory", "proxy-revalidate, max-age=10")]
    [InlineData("redis", "proxy-revalidate, max-age=10")]
    [InlineData("memory", "public, s-maxage=10")]
    [InlineData("redis", "public, s-maxage=10")]
    public async Task RevalidateDirectives_AStaleAnswerIsNeverServed_NotWhileRefreshing_NorOnAnError(string store, string cacheControl)
    {
        var failing = false;
        var hold = new TaskCompletionSource();
        await using var rig = await CacheRig.StartAsync(store, "{ ttl: 60s, shared: true, staleWhileRevalidate: 1m, staleIfError: 5m }", async (context, n) =>
        {
            if (n == 3)
            {
                await hold.Task; // the refresh that would let others be served stale meanwhile
            }

            context.Response.StatusCode = failing ? 503 : 200;
            context.Response.Headers.CacheControl = cacheControl;
            await context.Response.WriteAsync(failing ? "down" : "v" + n);
        });

        await rig.GetAsync("/users/1", KeyA);
        Assert.Equal("hit", (await rig.GetUntilHitAsync("/users/1", KeyA)).Response.Header("Gatehouse-Cache"));
        rig.Time.Advance(TimeSpan.FromSeconds(20));

        // stale-if-error: the client gets the service's error (RFC 9111 §4.2.4), not the stale answer.
        failing = true;
        var (error, errorBody) = await rig.GetAsync("/users/1", KeyA);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.Equal("down", errorBody);
        Assert.Equal("miss", error.Header("Gatehouse-Cache"));

        // stale-while-revalidate: while one request refreshes, another goes to the service too.
        failing = false;
        var refreshing = rig.GetAsync("/users/1", KeyA);
        await Wait.UntilAsync(() => rig.Backend.Count == 3, "the refresh to reach the service");
        var (other, otherBody) = await rig.GetAsync("/users/1", KeyB);
        hold.SetResult();
        await refreshing;

        Assert.Equal("miss", other.Header("Gatehouse-Cache"));
        Assert.Equal("v4", otherBody);
        Assert.Equal(4, rig.Backend.Count);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("redis")]
    public async Task ServiceStaleWindows_ApplyOnARouteWithoutThem_AndReplaceTheRoutes(string store)
    {
        var failing = false;
        var hold = new TaskCompletionSource();
        await using var rig = await CacheRig.StartAsync(store, "{ ttl: 60s, shared: true, staleIfError: 5m }", async (context, n) =>
        {
            if (n == 2)
            {
                await hold.Task; // the refresh, which fails once released
            }

            context.Response.StatusCode = failing ? 503 : 200;
            context.Response.Headers.CacheControl = "max-age=10, stale-while-revalidate=30, stale-if-error=60";
            await context.Response.WriteAsync(failing ? "down" : "v" + n);
        });

        await rig.GetAsync("/users/1", KeyA);
        await rig.GetUntilHitAsync("/users/1", KeyA);
        rig.Time.Advance(TimeSpan.FromSeconds(20));

        // The route has no staleWhileRevalidate: the service's stale-while-revalidate=30 lets others be served stale.
        var refreshing = rig.GetAsync("/users/1", KeyA);
        await Wait.UntilAsync(() => rig.Backend.Count == 2, "the refresh to reach the service");
        var (stale, staleBody) = await rig.GetAsync("/users/1", KeyB);
        failing = true; // the refresh fails: stale-if-error=60 answers it stale as well
        hold.SetResult();
        var (refreshed, refreshedBody) = await refreshing;

        Assert.Equal("stale", stale.Header("Gatehouse-Cache"));
        Assert.Equal("v1", staleBody);
        Assert.Equal("stale", refreshed.Header("Gatehouse-Cache"));
        Assert.Equal("v1", refreshedBody);

        // Past the service's stale-if-error=60 (the route's 5m would still allow it): the client gets the error.
        rig.Time.Advance(TimeSpan.FromSeconds(55));
        var (error, _) = await rig.GetAsync("/users/1", KeyA);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
    }

    [Theory]
    [InlineData("memory", "Cache-Control", "no-cache, max-age=60")]
    [InlineData("redis", "Cache-Control", "no-cache, max-age=60")]
    [InlineData("memory", "Cache-Control", "NO-CACHE")]
    [InlineData("memory", "Cache-Control", "private, max-age=60")]
    [InlineData("redis", "Cache-Control", "private")]
    [InlineData("memory", "Cache-Control", "no-store, max-age=x")]
    [InlineData("memory", "Cache-Control", "max-age=ten")]
    [InlineData("redis", "Cache-Control", "max-age=ten")]
    [InlineData("memory", "Expires", "0")]
    [InlineData("redis", "Expires", "0")]
    [InlineData("memory", "Expires", "Thu, 01 Jan 1970 00:00:00 GMT")]
    [InlineData("memory", "Set-Cookie", "session=a")]
    [InlineData("redis", "Set-Cookie", "session=a")]
    [InlineData("memory", "Age", "61")]
    public async Task AnswersASharedCacheMayNotReuse_AreNotKept(string store, string name, string value)
    {
        await using var rig = await CacheRig.StartAsync(store, "{ ttl: 60s, shared: true }", async (context, n) =>
        {
            if (context.Request.Path != Control)
            {
                context.Response.Headers[name] = value;
            }

            await context.Response.WriteAsync("v" + n);
        });

        var (first, _) = await rig.GetAsync("/users/1", KeyA);
        await rig.GetAsync(Control, KeyA);
        await rig.GetUntilHitAsync(Control, KeyA);
        var (second, secondBody) = await rig.GetAsync("/users/1", KeyB);

        Assert.Equal("miss", second.Header("Gatehouse-Cache"));
        Assert.Equal("v3", secondBody);
        Assert.Equal(3, rig.Backend.Count);
        if (name == "Set-Cookie")
        {
            Assert.Equal("session=a", first.Header("Set-Cookie")); // the client it was for has it
        }
    }

    [Theory]
    [InlineData("memory", "no-cache=\"Set-Cookie\", max-age=60", "Set-Cookie")]
    [InlineData("redis", "no-cache=\"Set-Cookie\", max-age=60", "Set-Cookie")]
    [InlineData("memory", "private=\"X-User, Set-Cookie\"", "X-User")]
    [InlineData("redis", "private=\"X-User, Set-Cookie\"", "X-User")]
    public async Task QualifiedNoCacheOrPrivate_TheRestIsKept_TheNamedFieldsAreNeverServedToAnother(string store, string cacheControl, string named)
    {
        await using var rig = await CacheRig.StartAsync(store, "{ ttl: 60s, shared: true }", async (context, n) =>
        {
            context.Response.Headers.CacheControl = cacheControl;
            context.Response.Headers.SetCookie = "session=a" + n;
            context.Response.Headers["X-User"] = "a" + n;
            context.Response.Headers["X-Kept"] = "yes";
            await context.Response.WriteAsync("v" + n);
        });

        var (first, _) = await rig.GetAsync("/users/1", KeyA);
        await rig.GetUntilHitAsync("/users/1", KeyA);
        var (other, otherBody) = await rig.GetAsync("/users/1", KeyB);

        Assert.Equal("a1", first.Header("X-User"));
        Assert.Equal("session=a1", first.Header("Set-Cookie"));
        Assert.Equal("hit", other.Header("Gatehouse-Cache"));
        Assert.Equal("v1", otherBody);
        Assert.Equal("yes", other.Header("X-Kept"));
        Assert.Null(other.Header(named));
        Assert.Null(other.Header("Set-Cookie"));
        Assert.Equal(1, rig.Backend.Count);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("redis")]
    public async Task ExpiresLessDate_ShortensTheTtl_WhenThereIsNoMaxAge(string store)
    {
        await using var rig = await CacheRig.StartAsync(store, "{ ttl: 60s, shared: true }", async (context, n) =>
        {
            // The service's own clock, whatever the gateway's (a fake one here) says: only the difference counts.
            var now = DateTimeOffset.UtcNow;
            context.Response.Headers.Date = now.ToString("R", CultureInfo.InvariantCulture);
            context.Response.Headers.Expires = now.AddSeconds(5).ToString("R", CultureInfo.InvariantCulture);
            await context.Response.WriteAsync("v" + n);
        });

        await rig.GetAsync("/users/1", KeyA);
        await rig.GetUntilHitAsync("/users/1", KeyA);
        rig.Time.Advance(TimeSpan.FromSeconds(3));
        var (fresh, _) = await rig.GetAsync("/users/1", KeyB);
        rig.Time.Advance(TimeSpan.FromSeconds(5));
        var (expired, expiredBody) = await rig.GetAsync("/users/1", KeyB);

        Assert.Equal("hit", fresh.Header("Gatehouse-Cache"));
        Assert.Equal("miss", expired.Header("Gatehouse-Cache"));
        Assert.Equal("v2", expiredBody);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("redis")]
    public async Task TheServicesAge_CountsInTheAnswersAge_SoAnOldAnswerGoesStaleSooner(string store)
    {
        await using var rig = await CacheRig.StartAsync(store, "{ ttl: 60s, shared: true }", async (context, n) =>
        {
            context.Response.Headers.CacheControl = "max-age=30";
            context.Response.Headers.Age = "25, 3"; // a list counts by its first member (RFC 9111 §5.1)
            await context.Response.WriteAsync("v" + n);
        });

        await rig.GetAsync("/users/1", KeyA);
        var (hit, _) = await rig.GetUntilHitAsync("/users/1", KeyA);
        rig.Time.Advance(TimeSpan.FromSeconds(6));
        var (late, _) = await rig.GetAsync("/users/1", KeyB);

        Assert.Equal("hit", hit.Header("Gatehouse-Cache"));
        Assert.Equal("25", hit.Header("Age"));
        Assert.Equal("miss", late.Header("Gatehouse-Cache"));
        Assert.Equal(2, rig.Backend.Count);
    }

    // RFC 5861 §4: stale-if-error answers 500, 502, 503 and 504 (the gateway's own 502 and 504 for an unreachable or slow
    // service among them); any other status, a 501 or a 505, says something of the request, and reaches the client.
    [Theory]
    [InlineData("memory", 500, true)]
    [InlineData("redis", 502, true)]
    [InlineData("memory", 503, true)]
    [InlineData("memory", 504, true)]
    [InlineData("memory", 501, false)]
    [InlineData("redis", 501, false)]
    [InlineData("memory", 505, false)]
    [InlineData("memory", 507, false)]
    public async Task StaleIfError_OnlyTheStatusesRfc5861Names_AreAnsweredStale(string store, int status, bool servedStale)
    {
        var failing = false;
        await using var rig = await CacheRig.StartAsync(store, "{ ttl: 10s, shared: true, staleIfError: 5m }", async (context, n) =>
        {
            context.Response.StatusCode = failing ? status : 200;
            await context.Response.WriteAsync(failing ? "down" : "v" + n);
        });

        await rig.GetAsync("/users/1", KeyA);
        await rig.GetUntilHitAsync("/users/1", KeyA);
        rig.Time.Advance(TimeSpan.FromSeconds(20));
        failing = true;
        var (answer, body) = await rig.GetAsync("/users/1", KeyB);

        Assert.Equal(servedStale ? 200 : status, (int)answer.StatusCode);
        Assert.Equal(servedStale ? "v1" : "down", body);
        Assert.Equal(servedStale ? "stale" : "miss", answer.Header("Gatehouse-Cache"));
        Assert.Equal(2, rig.Backend.Count);
    }
}
