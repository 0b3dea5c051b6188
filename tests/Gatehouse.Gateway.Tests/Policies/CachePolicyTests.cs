using System.Net;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// Issue 23, response caching: hits carry Age and Gatehouse-Cache, still pass authentication and limits, are kept
/// apart per application unless shared, and nothing a client sends outside the key changes what others are served.
/// </summary>
[Trait("Issue", "23")]
public sealed class CachePolicyTests
{
    private static readonly TestKey KeyA = TestKey.New();
    private static readonly TestKey KeyB = TestKey.New();

    private static string Yaml(string backend, string cache, string plansExtra = "", string routesExtra = "", string policiesExtra = "") => $$"""
        version: 1
        services:
          api: { targets: [{{backend}}] }
        routes:
          users: { methods: [GET], path: "/users/{id}", service: api, policies: { cache: {{cache}}{{policiesExtra}} } }
        {{routesExtra}}
        plans:
          retail: { include: [ { path: "/**", access: read } ], limits: [ { requests: 3, per: minute } ]{{plansExtra}} }
        accounts: { acme: {} }
        applications:
          a: { account: acme, plan: retail, keys: [ { sha256: {{KeyA.Sha256}} } ] }
          b: { account: acme, plan: retail, keys: [ { sha256: {{KeyB.Sha256}} } ] }
        """;

    private static Task<(HttpResponseMessage Response, string Body)> GetAsync(TestGateway gateway, string path, TestKey key, params (string, string)[] headers) =>
        PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, path, [("X-Api-Key", key.Plaintext), .. headers]);

    [Fact]
    public async Task SecondIdenticalRequest_IsAHit_WithAge_AndStillCountsAgainstTheLimit()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s }"), time: time);

        var (first, firstBody) = await GetAsync(gateway, "/users/1", KeyA);
        time.Advance(TimeSpan.FromSeconds(7));
        var (second, secondBody) = await GetAsync(gateway, "/users/1", KeyA);
        var (third, _) = await GetAsync(gateway, "/users/1", KeyA);
        var (fourth, _) = await GetAsync(gateway, "/users/1", KeyA);

        Assert.Equal("miss", first.Header("Gatehouse-Cache"));
        Assert.Equal("hit", second.Header("Gatehouse-Cache"));
        Assert.Equal("7", second.Header("Age"));
        Assert.Equal(firstBody, secondBody);
        Assert.Equal(1, backend.Count);
        Assert.NotEqual(first.Header("X-Request-Id"), second.Header("X-Request-Id"));
        Assert.NotNull(second.Header("RateLimit"));
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, fourth.StatusCode); // a hit is a request like any other
        Assert.Equal(1, backend.Count);
    }

    [Fact]
    public async Task ExpiredEntry_IsFetchedAgain()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s }"), time: time);

        await GetAsync(gateway, "/users/1", KeyA);
        time.Advance(TimeSpan.FromSeconds(31));
        var (again, _) = await GetAsync(gateway, "/users/1", KeyA);

        Assert.Equal("miss", again.Header("Gatehouse-Cache"));
        Assert.Equal(2, backend.Count);
    }

    [Fact]
    public async Task ApplicationAsAnswer_IsNeverServedToApplicationB_UnlessTheRouteIsShared()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var perApp = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s }"));

        await GetAsync(perApp, "/users/1", KeyA);
        var (b, _) = await GetAsync(perApp, "/users/1", KeyB);
        // Cache deception: a path that an upstream may read as /users/1 is still A's alone.
        await GetAsync(perApp, "/users/1;.css", KeyA);
        var (bCss, _) = await GetAsync(perApp, "/users/1;.css", KeyB);

        Assert.Equal("miss", b.Header("Gatehouse-Cache"));
        Assert.Equal("miss", bCss.Header("Gatehouse-Cache"));
        Assert.Equal(4, backend.Count);

        await using var sharedBackend = await RecordingBackend.StartAsync();
        await using var shared = await TestGateway.StartAsync(Yaml(sharedBackend.Url, "{ ttl: 30s, shared: true }"));
        await GetAsync(shared, "/users/1", KeyA);
        var (sharedB, _) = await GetAsync(shared, "/users/1", KeyB);
        Assert.Equal("hit", sharedB.Header("Gatehouse-Cache"));
        Assert.Equal(1, sharedBackend.Count);
    }

    [Theory]
    [InlineData("X-Forwarded-Host", "evil.example")]
    [InlineData("X-Original-URL", "/admin")]
    [InlineData("X-Rewrite-URL", "/admin")]
    [InlineData("X-HTTP-Method-Override", "DELETE")]
    public async Task UnkeyedHeaders_NeverReachTheService_SoTheyCannotPoisonTheEntry(string name, string value)
    {
        await using var backend = await RecordingBackend.StartAsync(async (context, n) =>
            await context.Response.WriteAsync(context.Request.Headers.TryGetValue(name, out var v) && v.ToString() == value ? "poisoned" : "clean"));
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, shared: true }"));

        var (attack, attackBody) = await GetAsync(gateway, "/users/1", KeyA, (name, value));
        var (victim, victimBody) = await GetAsync(gateway, "/users/1", KeyB);

        Assert.Equal("clean", attackBody);
        Assert.Equal("clean", victimBody);
        Assert.Equal("hit", victim.Header("Gatehouse-Cache"));
        Assert.Equal("miss", attack.Header("Gatehouse-Cache"));
    }

    [Fact]
    public async Task FatGet_ParameterCloaking_AndDuplicatedParameters_DoNotChangeWhatOthersAreServed()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, shared: true }"));

        using (var fat = new HttpRequestMessage(HttpMethod.Get, "/users/1?a=1") { Content = new StringContent("{\"evil\":true}") })
        {
            fat.Headers.TryAddWithoutValidation("X-Api-Key", KeyA.Plaintext);
            var response = await gateway.Client.SendAsync(fat);
            Assert.Equal("bypass", response.Header("Gatehouse-Cache"));
        }

        await GetAsync(gateway, "/users/1?a=1;b=2", KeyA);
        await GetAsync(gateway, "/users/1?a=1&a=2", KeyA);
        var (victim, victimBody) = await GetAsync(gateway, "/users/1?a=1", KeyB);

        Assert.Equal("miss", victim.Header("Gatehouse-Cache"));
        Assert.Contains("\"target\":\"/users/1?a=1\"", victimBody, StringComparison.Ordinal);
        Assert.Equal(4, backend.Count);
    }

    [Fact]
    public async Task KeyedQueryList_AnyOtherParameter_Bypasses()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, shared: true, query: [page] }"));

        await GetAsync(gateway, "/users/1?page=2", KeyA);
        var (hit, _) = await GetAsync(gateway, "/users/1?page=2", KeyB);
        var (other, _) = await GetAsync(gateway, "/users/1?page=2&debug=1", KeyB);

        Assert.Equal("hit", hit.Header("Gatehouse-Cache"));
        Assert.Equal("bypass", other.Header("Gatehouse-Cache"));
        Assert.Equal(2, backend.Count);
    }

    [Theory]
    [InlineData("Cache-Control", "no-store")]
    [InlineData("Cache-Control", "private, max-age=60")]
    [InlineData("Cache-Control", "no-cache")]
    [InlineData("Set-Cookie", "session=1")]
    [InlineData("Vary", "*")]
    public async Task ResponsesTheServiceMarksUnshareable_AreNotKept(string name, string value)
    {
        await using var backend = await RecordingBackend.StartAsync(async (context, n) =>
        {
            context.Response.Headers[name] = value;
            await context.Response.WriteAsync("x");
        });
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, shared: true }"));

        await GetAsync(gateway, "/users/1", KeyA);
        var (second, _) = await GetAsync(gateway, "/users/1", KeyA);

        Assert.Equal("miss", second.Header("Gatehouse-Cache"));
        Assert.Equal(2, backend.Count);
    }

    [Fact]
    public async Task ServiceMaxAge_ShortensTheTtl_AndVary_KeepsVariantsApart()
    {
        await using var backend = await RecordingBackend.StartAsync(async (context, n) =>
        {
            context.Response.Headers.CacheControl = "public, max-age=5";
            context.Response.Headers.Vary = "Accept-Language";
            await context.Response.WriteAsync(context.Request.Headers.AcceptLanguage.ToString());
        });
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 60s, shared: true }"), time: time);

        await GetAsync(gateway, "/users/1", KeyA, ("Accept-Language", "en"));
        var (fr, frBody) = await GetAsync(gateway, "/users/1", KeyA, ("Accept-Language", "fr"));
        var (en, enBody) = await GetAsync(gateway, "/users/1", KeyB, ("Accept-Language", "en"));
        var (frAgain, frAgainBody) = await GetAsync(gateway, "/users/1", KeyB, ("Accept-Language", "fr"));
        time.Advance(TimeSpan.FromSeconds(6));
        var (late, _) = await GetAsync(gateway, "/users/1", KeyB, ("Accept-Language", "en"));

        Assert.Equal("miss", fr.Header("Gatehouse-Cache"));
        Assert.Equal("fr", frBody);
        Assert.Equal("hit", en.Header("Gatehouse-Cache"));
        Assert.Equal("en", enBody);
        // A variant kept after the first (under the Vary rule the first one left) is found again too.
        Assert.Equal(HttpStatusCode.OK, frAgain.StatusCode);
        Assert.Equal("hit", frAgain.Header("Gatehouse-Cache"));
        Assert.Equal("fr", frAgainBody);
        Assert.Equal("miss", late.Header("Gatehouse-Cache"));
        Assert.Equal(3, backend.Count);
    }

    [Fact]
    public async Task ResponseHeaderValuesFromTheRequest_AreEachAnswersOwn_OnAHitAndAStaleAnswerToo()
    {
        var failing = false;
        await using var backend = await RecordingBackend.StartAsync(async (context, n) =>
        {
            context.Response.StatusCode = failing ? 503 : 200;
            context.Response.Headers["X-Via"] = "service";
            context.Response.Headers["X-Internal"] = "secret";
            await context.Response.WriteAsync(failing ? "down" : "v" + n);
        });
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 10s, staleIfError: 5m }", policiesExtra: """
            , transform: { response: { headers: {
                set: { X-Trace: "@request.id", X-Lang: "@request.headers.Accept-Language", X-Static: kept },
                add: { X-Via: "@request.headers.X-Caller" },
                remove: [X-Internal] } } }
            """.ReplaceLineEndings(" ")), time: time);

        var (first, _) = await GetAsync(gateway, "/users/1", KeyA, ("X-Request-Id", "first-id"), ("Accept-Language", "en"), ("X-Caller", "one"));
        var (second, secondBody) = await GetAsync(gateway, "/users/1", KeyA, ("X-Request-Id", "second-id"), ("Accept-Language", "de"), ("X-Caller", "two"));
        var (third, _) = await GetAsync(gateway, "/users/1", KeyA, ("X-Request-Id", "third-id"));
        failing = true;
        time.Advance(TimeSpan.FromMinutes(2)); // stale, and past the plan's minute of 3 requests
        var (stale, staleBody) = await GetAsync(gateway, "/users/1", KeyA, ("X-Request-Id", "fourth-id"), ("Accept-Language", "fr"));

        Assert.Equal("miss", first.Header("Gatehouse-Cache"));
        Assert.Equal("first-id", first.Header("X-Trace"));
        Assert.Equal("en", first.Header("X-Lang"));
        Assert.Equal("service,one", first.Header("X-Via"));

        Assert.Equal("hit", second.Header("Gatehouse-Cache"));
        Assert.Equal("v1", secondBody);
        Assert.Equal("second-id", second.Header("X-Request-Id"));
        Assert.Equal("second-id", second.Header("X-Trace"));
        Assert.Equal("de", second.Header("X-Lang"));
        Assert.Equal("service,two", second.Header("X-Via")); // the service's value kept, this request's added
        Assert.Equal("kept", second.Header("X-Static"));
        Assert.Null(second.Header("X-Internal"));

        Assert.Equal("hit", third.Header("Gatehouse-Cache"));
        Assert.Equal("third-id", third.Header("X-Trace"));
        Assert.Null(third.Header("X-Lang")); // a reference that finds nothing sets nothing, on a hit as on a miss
        Assert.Equal("service", third.Header("X-Via"));

        Assert.Equal("stale", stale.Header("Gatehouse-Cache"));
        Assert.Equal("v1", staleBody);
        Assert.Equal("fourth-id", stale.Header("X-Trace"));
        Assert.Equal("fr", stale.Header("X-Lang"));
    }

    [Fact]
    public async Task SharedRoute_AResponseHeaderNamingTheCaller_NamesEachCaller_OnAHitToo()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, shared: true }",
            policiesExtra: """, transform: { response: { headers: { set: { X-Served-For: "@request.application" } } } }"""));

        var (a, _) = await GetAsync(gateway, "/users/1", KeyA);
        var (b, _) = await GetAsync(gateway, "/users/1", KeyB);

        Assert.Equal("a", a.Header("X-Served-For"));
        Assert.Equal("hit", b.Header("Gatehouse-Cache"));
        Assert.Equal("b", b.Header("X-Served-For"));
    }

    [Fact]
    public async Task StaleIfError_ServesTheStaleAnswer_WhenTheServiceFails()
    {
        var failing = false;
        await using var backend = await RecordingBackend.StartAsync(async (context, n) =>
        {
            if (failing)
            {
                context.Response.StatusCode = 503;
                await context.Response.WriteAsync("down");
                return;
            }

            await context.Response.WriteAsync("good");
        });
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 10s, shared: true, staleIfError: 1m }"), time: time);

        await GetAsync(gateway, "/users/1", KeyA);
        failing = true;
        time.Advance(TimeSpan.FromSeconds(20));
        var (stale, body) = await GetAsync(gateway, "/users/1", KeyA);
        time.Advance(TimeSpan.FromMinutes(2));
        var (gone, goneBody) = await GetAsync(gateway, "/users/1", KeyB);

        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        Assert.Equal("stale", stale.Header("Gatehouse-Cache"));
        Assert.Equal("good", body);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, gone.StatusCode);
        Assert.Equal("down", goneBody);
    }

    [Fact]
    public async Task StaleWhileRevalidate_OneRequestRefreshes_WhileTheOthersGetTheStaleAnswer()
    {
        var release = new TaskCompletionSource();
        await using var backend = await RecordingBackend.StartAsync(async (context, n) =>
        {
            if (n == 2)
            {
                await release.Task;
            }

            await context.Response.WriteAsync("v" + n);
        });
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 10s, shared: true, staleWhileRevalidate: 1m }"), time: time);

        await GetAsync(gateway, "/users/1", KeyA);
        time.Advance(TimeSpan.FromSeconds(15));
        var refreshing = GetAsync(gateway, "/users/1", KeyA);
        await Wait.UntilAsync(() => backend.Count == 2, "the refresh to reach the service");
        var (stale, staleBody) = await GetAsync(gateway, "/users/1", KeyB);
        release.SetResult();
        var (refreshed, refreshedBody) = await refreshing;
        var (fresh, freshBody) = await GetAsync(gateway, "/users/1", KeyB);

        Assert.Equal("stale", stale.Header("Gatehouse-Cache"));
        Assert.Equal("v1", staleBody);
        Assert.Equal("miss", refreshed.Header("Gatehouse-Cache"));
        Assert.Equal("v2", refreshedBody);
        Assert.Equal("hit", fresh.Header("Gatehouse-Cache"));
        Assert.Equal("v2", freshBody);
    }

    [Fact]
    public async Task PlanWithCacheOff_AlwaysReachesTheService()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, shared: true }", ", cache: false"));

        await GetAsync(gateway, "/users/1", KeyA);
        var (second, _) = await GetAsync(gateway, "/users/1", KeyA);

        Assert.Equal("bypass", second.Header("Gatehouse-Cache"));
        Assert.Equal(2, backend.Count);
    }

    [Fact]
    public async Task Purge_OfARoute_OrOfOnePath_DropsItsEntries()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, shared: true }"));
        await GetAsync(gateway, "/users/1", KeyA);
        await GetAsync(gateway, "/users/2", KeyA);

        Assert.Equal(1, await gateway.Host.Runtime.Cache!.PurgeAsync("users", "/users/1"));
        var (one, _) = await GetAsync(gateway, "/users/1", KeyA);
        var (two, _) = await GetAsync(gateway, "/users/2", KeyB);
        Assert.Equal("miss", one.Header("Gatehouse-Cache"));
        Assert.Equal("hit", two.Header("Gatehouse-Cache"));

        Assert.Equal(2, await gateway.Host.Runtime.Cache.PurgeAsync("users", null));
        var (after, _) = await GetAsync(gateway, "/users/2", KeyB);
        Assert.Equal("miss", after.Header("Gatehouse-Cache"));
    }
}
