using System.Net;
using Gatehouse.Gateway.Policies.Caching;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// Issue 23, RFC 9111 §4.4: an unsafe request that the service carries out drops the cached answers of its target URI,
/// and of its answer's same-host Location and Content-Location, from the cached GET route those paths reach (a route of
/// its own), every variant of them, in memory and in Redis alike; and a revision without a cached route carries no such
/// step at all.
/// </summary>
[Trait("Issue", "23")]
public sealed class CacheInvalidationTests
{
    private static readonly TestKey KeyA = CacheRig.KeyA;
    private static readonly TestKey KeyB = CacheRig.KeyB;

    // The writes are routes of their own, as operations usually are: PUT /users/{id} beside the cached GET /users/{id}.
    private const string Writes = """
        writes: { methods: [POST, PUT, PATCH, DELETE], path: "/users/{id}", service: api }
          create: { methods: [POST], path: "/users", service: api }
        """;

    // The service answers a write with the status, Location and Content-Location the test asks of it in headers.
    private static Task Answer(HttpContext context, int n)
    {
        var request = context.Request;
        if (HttpMethods.IsGet(request.Method))
        {
            return context.Response.WriteAsync("v" + n);
        }

        context.Response.StatusCode = request.Headers["X-Status"] is { Count: 1 } status ? int.Parse(status.ToString(), System.Globalization.CultureInfo.InvariantCulture) : 200;
        if (request.Headers["X-Location"] is { Count: 1 } location)
        {
            context.Response.Headers.Location = location;
        }

        if (request.Headers["X-Content-Location"] is { Count: 1 } contentLocation)
        {
            context.Response.Headers.ContentLocation = contentLocation;
        }

        return context.Response.WriteAsync("done");
    }

    [Theory]
    [InlineData("memory", "PUT")]
    [InlineData("redis", "PUT")]
    [InlineData("memory", "DELETE")]
    [InlineData("redis", "PATCH")]
    [InlineData("memory", "POST")]
    [InlineData("redis", "DELETE")]
    public async Task UnsafeRequest_ServiceSaysOk_EveryHeldAnswerOfItsPathOnTheCachedGetRouteIsDropped(string store, string method)
    {
        await using var rig = await CacheRig.StartAsync(store, "{ ttl: 60s }", Answer, Writes);
        var held = new[] { ("/users/1", KeyA), ("/users/1", KeyB), ("/users/1?page=2", KeyA), ("/users/2", KeyA) };
        foreach (var (path, key) in held)
        {
            await rig.GetAsync(path, key);
            Assert.Equal("hit", (await rig.GetUntilHitAsync(path, key)).Response.Header("Gatehouse-Cache"));
        }

        var (write, _) = await rig.SendAsync(new HttpMethod(method), "/users/1", KeyA, ("X-Status", "204"));
        Assert.Equal(HttpStatusCode.NoContent, write.StatusCode);

        // At once: the answer to the write was held back until the cache had dropped what it made out of date.
        var (a, _) = await rig.GetAsync("/users/1", KeyA);
        var (b, _) = await rig.GetAsync("/users/1", KeyB);
        var (query, _) = await rig.GetAsync("/users/1?page=2", KeyA);
        var (other, _) = await rig.GetAsync("/users/2", KeyA);

        Assert.Equal("miss", a.Header("Gatehouse-Cache"));
        Assert.Equal("miss", b.Header("Gatehouse-Cache"));
        Assert.Equal("miss", query.Header("Gatehouse-Cache"));
        Assert.Equal("hit", other.Header("Gatehouse-Cache")); // another path keeps its answer
    }

    [Theory]
    [InlineData("memory", "409")]
    [InlineData("redis", "500")]
    [InlineData("memory", "404")]
    public async Task UnsafeRequest_ServiceSaysError_TheHeldAnswerStays(string store, string status)
    {
        await using var rig = await CacheRig.StartAsync(store, "{ ttl: 60s }", Answer, Writes);
        await rig.GetAsync("/users/1", KeyA);
        await rig.GetUntilHitAsync("/users/1", KeyA);

        var (write, _) = await rig.SendAsync(HttpMethod.Put, "/users/1", KeyA, ("X-Status", status));
        var (after, body) = await rig.GetAsync("/users/1", KeyA);

        Assert.Equal(int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), (int)write.StatusCode);
        Assert.Equal("hit", after.Header("Gatehouse-Cache"));
        Assert.Equal("v1", body);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("redis")]
    public async Task Create_LocationAndContentLocationOnTheSameHost_AreDropped_AnotherHostsAreNot(string store)
    {
        await using var rig = await CacheRig.StartAsync(store, "{ ttl: 60s, shared: true }", Answer, Writes);
        foreach (var path in new[] { "/users/7", "/users/8", "/users/9" })
        {
            await rig.GetAsync(path, KeyA);
            await rig.GetUntilHitAsync(path, KeyA);
        }

        // A relative Location, and an absolute Content-Location on the gateway's host (another port is the same host, §4.4).
        var (created, _) = await rig.SendAsync(HttpMethod.Post, "/users", KeyA,
            ("X-Status", "201"), ("X-Location", "/users/7"), ("X-Content-Location", "http://127.0.0.1:1/users/8"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var seven = await rig.GetAsync("/users/7", KeyA);
        var eight = await rig.GetAsync("/users/8", KeyA);

        // Another host's URI is never invalidated.
        await rig.GetUntilHitAsync("/users/7", KeyA);
        await rig.SendAsync(HttpMethod.Post, "/users", KeyA, ("X-Status", "201"), ("X-Location", "http://elsewhere.example/users/7"),
            ("X-Content-Location", "//elsewhere.example/users/9"));
        var sevenAgain = await rig.GetAsync("/users/7", KeyA);
        var nine = await rig.GetAsync("/users/9", KeyA);

        Assert.Equal("miss", seven.Response.Header("Gatehouse-Cache"));
        Assert.Equal("miss", eight.Response.Header("Gatehouse-Cache"));
        Assert.Equal("hit", sevenAgain.Response.Header("Gatehouse-Cache"));
        Assert.Equal("hit", nine.Response.Header("Gatehouse-Cache"));
    }

    [Fact]
    public async Task Compile_OnlyWriteRoutesOfARevisionWithACachedRoute_CarryTheStep()
    {
        await using var rig = await CacheRig.StartAsync("memory", "{ ttl: 60s }", Answer, Writes);
        await using var backend = await RecordingBackend.StartAsync();
        await using var uncached = await TestGateway.StartAsync($$"""
            version: 1
            services:
              api: { targets: [{{backend.Url}}] }
            routes:
              writes: { methods: [PUT], path: "/users/{id}", service: api }
              any: { path: "/any/{id}", service: api }
            """);

        Assert.NotNull(Route(rig.Gateway, "PUT", "/users/1").CacheInvalidation);
        Assert.Null(Route(rig.Gateway, "GET", "/users/1").CacheInvalidation);
        Assert.Null(Route(uncached, "PUT", "/users/1").CacheInvalidation);
        Assert.Null(Route(uncached, "DELETE", "/any/1").CacheInvalidation);
    }

    [Theory]
    [InlineData("/users/7", "/users/3", false, "/users/7")]
    [InlineData("7", "/users/3", false, "/users/7")]
    [InlineData("../items/7", "/users/3", false, "/items/7")]
    [InlineData("http://API.example:8443/caf%C3%A9", "/users", false, "/café")]
    [InlineData("https://api.example/users/7?x=1#top", "/users", false, "/users/7")]
    [InlineData("http://other.example/users/7", "/users", false, null)]
    [InlineData("//other.example/users/7", "/users", false, null)]
    [InlineData("http://public.example/users/7", "/users", true, "/users/7")]
    [InlineData("http://public.example/users/7", "/users", false, null)]
    [InlineData("/users/a%2Fb", "/users", false, null)]
    [InlineData("mailto:someone@api.example", "/users", false, null)]
    public void SameHostPath_OnlyTheRequestsHostOrATrustedForwardedHost(string value, string requestPath, bool trusted, string? expected)
    {
        var context = new DefaultHttpContext();
        context.Request.Host = new HostString("api.example", 8080);
        context.Request.Path = requestPath;
        context.Request.Headers["X-Forwarded-Host"] = "public.example";

        Assert.Equal(expected, CacheInvalidation.SameHostPath(value, context.Request, trusted));
    }

    [Fact]
    public async Task MemoryStore_PurgeOfOnePath_DropsEveryKeyOfIt_AndNoOther()
    {
        using var store = new ResponseCacheStore(new Gatehouse.Model.Config.ResponseCacheConfig());
        var now = DateTimeOffset.UtcNow;
        var entry = new CachedResponse { Status = 200, Body = [1], FreshUntil = now.AddMinutes(1) };
        static string Key(string route, string path, string rest) =>
            CacheKeys.Part(CacheKeys.Part(CacheKeys.Part(CacheKeys.Part(new System.Text.StringBuilder(), route), "v1"), path), rest).ToString();

        store.Set("users", Key("users", "/users/1", "a"), entry, now);
        store.Set("users", Key("users", "/users/1", "a"), entry, now); // replaced: still one entry, still indexed
        store.Set("users", Key("users", "/users/1", "b"), entry, now);
        store.Set("users", Key("users", "/users/2", "a"), entry, now);
        store.Set("other", Key("other", "/users/1", "a"), entry, now);

        Assert.Equal(2, await store.PurgeAsync("users", "/users/1"));
        Assert.Null(await store.GetAsync(Key("users", "/users/1", "b")));
        Assert.NotNull(await store.GetAsync(Key("users", "/users/2", "a")));
        Assert.NotNull(await store.GetAsync(Key("other", "/users/1", "a")));

        // Kept again after the purge: indexed again.
        store.Set("users", Key("users", "/users/1", "a"), entry, now);
        await store.InvalidateAsync("users", "/users/1");
        Assert.Null(await store.GetAsync(Key("users", "/users/1", "a")));
    }

    private static RouteModel Route(TestGateway gateway, string method, string path)
    {
        var captures = default(RouteCaptures);
        var allowed = default(AllowedMethods);
        Assert.Equal(MatchOutcome.Matched, gateway.Host.Runtime.Current.Routes.Match(method, "127.0.0.1", path, out var route, ref captures, ref allowed));
        return route!;
    }
}
