using System.Security.Cryptography;
using System.Text;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// Issue 23, the cache and credentials the gateway does not identify callers by: a service that reads the
/// <c>Authorization</c> or <c>Cookie</c> it is sent answers each caller differently, so where the key cannot tell those
/// callers apart (no access steps, an anonymous plan, a per-plan cache) their answers are never shared, and on a
/// <c>shared</c> route only when the service marked the answer for shared caches (RFC 9111 §3.5).
/// </summary>
[Trait("Issue", "23")]
public sealed class CacheCredentialTests
{
    private static readonly TestKey KeyA = TestKey.New();
    private static readonly TestKey KeyB = TestKey.New();

    private static string Yaml(string backend, string cache, string plans = "") => $$"""
        version: 1
        services:
          api: { targets: [{{backend}}] }
        routes:
          me: { methods: [GET], path: "/me", service: api, policies: { cache: {{cache}} } }
        {{plans}}
        """;

    // An anonymous plan beside one for keys: a request without a key is anonymous, on 'open'.
    private const string AnonymousPlan = """
        plans:
          open: { anonymous: true, include: [ { path: "/**", access: read } ] }
          retail: { include: [ { path: "/**", access: read } ] }
        accounts: { acme: {} }
        applications:
          a: { account: acme, plan: retail, keys: [ { sha256: KEY_A } ] }
          b: { account: acme, plan: retail, keys: [ { sha256: KEY_B } ] }
        """;

    private static string Plans(string plans) => plans.Replace("KEY_A", KeyA.Sha256, StringComparison.Ordinal).Replace("KEY_B", KeyB.Sha256, StringComparison.Ordinal);

    // The service answers who it thinks called, as a service that checks Authorization or a session cookie itself does.
    private static Task<RecordingBackend> WhoAmIBackendAsync(string? cacheControl = null) => RecordingBackend.StartAsync(async (context, _) =>
    {
        if (cacheControl is not null)
        {
            context.Response.Headers.CacheControl = cacheControl;
        }

        await context.Response.WriteAsync($"for [{context.Request.Headers.Authorization}] [{context.Request.Headers.Cookie}]");
    });

    private static Task<(HttpResponseMessage Response, string Body)> GetAsync(TestGateway gateway, params (string, string)[] headers) =>
        PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/me", headers);

    [Theory]
    [InlineData("Authorization", "Bearer alice", "Bearer bob")]
    [InlineData("Cookie", "session=alice", "session=bob")]
    public async Task RouteWithoutAccess_CallersWithTheirOwnCredential_EachGetTheirOwnAnswer_AndNoneIsKept(string header, string alice, string bob)
    {
        await using var backend = await WhoAmIBackendAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s }"));

        var (first, firstBody) = await GetAsync(gateway, (header, alice));
        var (second, secondBody) = await GetAsync(gateway, (header, bob));
        var (again, againBody) = await GetAsync(gateway, (header, alice));
        var (plain, _) = await GetAsync(gateway);
        var (plainAgain, plainBody) = await GetAsync(gateway);

        Assert.Contains(alice, firstBody, StringComparison.Ordinal);
        Assert.Contains(bob, secondBody, StringComparison.Ordinal);
        Assert.DoesNotContain(alice, secondBody, StringComparison.Ordinal);
        Assert.Contains(alice, againBody, StringComparison.Ordinal);
        Assert.All([first, second, again], r => Assert.Equal("bypass", r.Header("Gatehouse-Cache")));

        // A request with no credential is cached as before, and never got a credentialed caller's answer.
        Assert.Equal("miss", plain.Header("Gatehouse-Cache"));
        Assert.Equal("hit", plainAgain.Header("Gatehouse-Cache"));
        Assert.Equal("for [] []", plainBody);
        Assert.Equal(4, backend.Count);
    }

    [Theory]
    [InlineData("{ ttl: 30s }", "Authorization", "Bearer alice", "Bearer bob")]
    [InlineData("{ ttl: 30s, per: plan }", "Authorization", "Bearer alice", "Bearer bob")]
    [InlineData("{ ttl: 30s }", "Cookie", "session=alice", "session=bob")]
    [InlineData("{ ttl: 30s, per: plan }", "Cookie", "session=alice", "session=bob")]
    public async Task AnonymousPlan_CallersWithTheirOwnCredential_EachGetTheirOwnAnswer(string cache, string header, string alice, string bob)
    {
        await using var backend = await WhoAmIBackendAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, cache, Plans(AnonymousPlan)));

        var (first, firstBody) = await GetAsync(gateway, (header, alice));
        var (second, secondBody) = await GetAsync(gateway, (header, bob));

        Assert.Equal(System.Net.HttpStatusCode.OK, second.StatusCode);
        Assert.Contains(alice, firstBody, StringComparison.Ordinal);
        Assert.Contains(bob, secondBody, StringComparison.Ordinal);
        Assert.Equal("bypass", first.Header("Gatehouse-Cache"));
        Assert.Equal("bypass", second.Header("Gatehouse-Cache"));
        Assert.Equal(2, backend.Count);
    }

    [Fact]
    public async Task IdentifiedCallers_PerApplicationKeepTheirOwnCache_ButAPerPlanCacheDoesNotShareCredentialedAnswers()
    {
        await using var backend = await WhoAmIBackendAsync();
        await using var perApplication = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s }", Plans(AnonymousPlan)));

        // The key is A's own: a cookie A's client sends changes nothing (as before).
        await GetAsync(perApplication, ("X-Api-Key", KeyA.Plaintext), ("Cookie", "session=alice"));
        var (own, ownBody) = await GetAsync(perApplication, ("X-Api-Key", KeyA.Plaintext), ("Cookie", "session=alice"));
        Assert.Equal("hit", own.Header("Gatehouse-Cache"));
        Assert.Contains("session=alice", ownBody, StringComparison.Ordinal);

        // Per plan, A and B share a key: B's own session must reach the service.
        await using var planBackend = await WhoAmIBackendAsync();
        await using var perPlan = await TestGateway.StartAsync(Yaml(planBackend.Url, "{ ttl: 30s, per: plan }", Plans(AnonymousPlan)));
        await GetAsync(perPlan, ("X-Api-Key", KeyA.Plaintext), ("Cookie", "session=alice"));
        var (b, bBody) = await GetAsync(perPlan, ("X-Api-Key", KeyB.Plaintext), ("Cookie", "session=bob"));
        var (bPlain, _) = await GetAsync(perPlan, ("X-Api-Key", KeyB.Plaintext));
        var (aPlain, _) = await GetAsync(perPlan, ("X-Api-Key", KeyA.Plaintext));

        Assert.Equal("bypass", b.Header("Gatehouse-Cache"));
        Assert.Contains("session=bob", bBody, StringComparison.Ordinal);
        Assert.Equal("miss", bPlain.Header("Gatehouse-Cache"));
        Assert.Equal("hit", aPlain.Header("Gatehouse-Cache")); // without a credential the plan's callers still share
    }

    [Theory]
    [InlineData("public, max-age=60", "Authorization", "Bearer alice", "Bearer bob")]
    [InlineData("s-maxage=60", "Authorization", "Bearer alice", "Bearer bob")]
    [InlineData("max-age=60, must-revalidate", "Authorization", "Bearer alice", "Bearer bob")]
    [InlineData("public", "Cookie", "session=alice", "session=bob")]
    public async Task SharedRoute_AnAnswerTheServiceMarkedForSharedCaches_IsStillAHit(string cacheControl, string header, string alice, string bob)
    {
        await using var backend = await WhoAmIBackendAsync(cacheControl);
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, shared: true }"));

        var (first, _) = await GetAsync(gateway, (header, alice));
        var (second, secondBody) = await GetAsync(gateway, (header, bob));
        var (plain, _) = await GetAsync(gateway);

        Assert.Equal("miss", first.Header("Gatehouse-Cache"));
        Assert.Equal("hit", second.Header("Gatehouse-Cache"));
        Assert.Contains(alice, secondBody, StringComparison.Ordinal); // the service said one answer is for everyone
        Assert.Equal("hit", plain.Header("Gatehouse-Cache"));
        Assert.Equal(1, backend.Count);
    }

    [Theory]
    [InlineData("Authorization", "Bearer alice", "Bearer bob")]
    [InlineData("Cookie", "session=alice", "session=bob")]
    public async Task SharedRoute_AnAnswerNotMarkedForSharedCaches_NeitherServesNorIsKeptForACredentialedRequest(string header, string alice, string bob)
    {
        await using var backend = await WhoAmIBackendAsync("max-age=60");
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, shared: true }"));

        var (first, _) = await GetAsync(gateway, (header, alice));
        var (second, secondBody) = await GetAsync(gateway, (header, bob));
        Assert.Equal("miss", first.Header("Gatehouse-Cache"));
        Assert.Equal("miss", second.Header("Gatehouse-Cache"));
        Assert.Contains(bob, secondBody, StringComparison.Ordinal);
        Assert.DoesNotContain(alice, secondBody, StringComparison.Ordinal);

        // Callers without a credential share their answer as before; a credentialed caller is not served it, and the
        // answer made for them does not replace it.
        await GetAsync(gateway);
        var (alicePlain, aliceBody) = await GetAsync(gateway, (header, alice));
        var (plain, plainBody) = await GetAsync(gateway);
        Assert.Equal("miss", alicePlain.Header("Gatehouse-Cache"));
        Assert.Contains(alice, aliceBody, StringComparison.Ordinal);
        Assert.Equal("hit", plain.Header("Gatehouse-Cache"));
        Assert.Equal("for [] []", plainBody);
        Assert.Equal(4, backend.Count);
    }

    [Fact]
    public async Task SharedRoute_AuthorizationTheGatewayAuthenticatedAndKeptFromTheService_IsNoReasonToHoldBack()
    {
        await using var backend = await WhoAmIBackendAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, shared: true }", $$"""
            plans:
              retail: { include: [ { path: "/**", access: read } ] }
            accounts: { acme: {} }
            applications:
              a: { account: acme, plan: retail, basic: [ { username: alice, sha256: {{Sha256("alice-secret")}} } ] }
              b: { account: acme, plan: retail, basic: [ { username: bob, sha256: {{Sha256("bob-secret")}} } ] }
            """));

        var (first, _) = await GetAsync(gateway, ("Authorization", Basic("alice", "alice-secret")));
        var (second, secondBody) = await GetAsync(gateway, ("Authorization", Basic("bob", "bob-secret")));

        Assert.Equal("miss", first.Header("Gatehouse-Cache"));
        Assert.Equal("hit", second.Header("Gatehouse-Cache"));
        Assert.Equal("for [] []", secondBody); // the service never saw it
        Assert.Equal(1, backend.Count);
    }

    [Fact]
    public async Task CredentialListedInTheKeyHeaders_EachValueHasItsOwnAnswers()
    {
        await using var backend = await WhoAmIBackendAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ ttl: 30s, headers: [Authorization] }"));

        await GetAsync(gateway, ("Authorization", "Bearer alice"));
        var (alice, aliceBody) = await GetAsync(gateway, ("Authorization", "Bearer alice"));
        var (bob, bobBody) = await GetAsync(gateway, ("Authorization", "Bearer bob"));

        Assert.Equal("hit", alice.Header("Gatehouse-Cache"));
        Assert.Contains("Bearer alice", aliceBody, StringComparison.Ordinal);
        Assert.Equal("miss", bob.Header("Gatehouse-Cache"));
        Assert.Contains("Bearer bob", bobBody, StringComparison.Ordinal);
        Assert.Equal(2, backend.Count);
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static string Basic(string user, string password) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
}
