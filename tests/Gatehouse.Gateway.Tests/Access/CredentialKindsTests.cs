using System.Net;
using System.Text;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.Policies;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>
/// Issue 23, more credentials: HTTP Basic with hashed passwords and OAuth2 token introspection map to applications
/// like keys do, with one 401 for every failure; an IP filter on an application is checked after authentication.
/// </summary>
[Trait("Issue", "23")]
public sealed class CredentialKindsTests
{
    private static string Sha256(string text) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    static CredentialKindsTests() => Environment.SetEnvironmentVariable("GH_TEST_INTROSPECTION_AUTH", "c2VjcmV0");

    private static string Yaml(string backend, string gateway = "", string app = "") => $$"""
        version: 1
        gateway: { {{gateway}} }
        services:
          api: { targets: [{{backend}}] }
        routes:
          items: { methods: [GET], path: "/items/{id}", service: api }
        plans:
          retail: { include: [ { route: items } ] }
        accounts: { acme: {} }
        applications:
          legacy: { account: acme, plan: retail, basic: [ { username: erp, sha256: {{Sha256("correct horse")}} } ], clientIds: [erp-client]{{app}} }
        """;

    private static async Task<(HttpResponseMessage Response, string Body)> GetAsync(TestGateway gateway, string? authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/items/1");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        var response = await gateway.Client.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }

    private static string Basic(string user, string password) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));

    [Fact]
    public async Task Basic_RightPassword_IsTheApplication_AndTheCredentialNeverReachesTheService()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        var (ok, _) = await GetAsync(gateway, Basic("erp", "correct horse"));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var seen = Assert.Single(backend.Seen);
        Assert.Equal("legacy", seen.Headers["Gatehouse-Application"]);
        Assert.False(seen.Headers.ContainsKey("Authorization"));
    }

    [Fact]
    public async Task Basic_WrongPassword_UnknownUser_AndGarbage_GetTheSame401()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        var answers = new[]
        {
            await GetAsync(gateway, Basic("erp", "wrong horse")),
            await GetAsync(gateway, Basic("nobody", "correct horse")),
            await GetAsync(gateway, Basic("erp", "")),
            await GetAsync(gateway, "Basic !!!notbase64"),
            await GetAsync(gateway, "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("no-colon"))),
        };

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Unauthorized, a.Response.StatusCode));
        Assert.Single(answers.Select(a => a.Body.Replace(a.Response.Headers.GetValues("X-Request-Id").Single(), "", StringComparison.Ordinal)).Distinct());
        Assert.Contains("Basic realm=\"gatehouse\"", answers[0].Response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, backend.Count);
    }

    [Fact]
    public async Task ApplicationIpFilter_RefusesAnAddressItDoesNotAllow()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, app: ", ipFilter: { allow: [192.0.2.0/24] }"));

        var (refused, body) = await GetAsync(gateway, Basic("erp", "correct horse"));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("ip-refused", body, StringComparison.Ordinal);
        Assert.Equal(0, backend.Count);
    }

    [Fact]
    public async Task AnAddressAnIpFilterRefuses_UsesNoneOfTheApplicationsLimits()
    {
        // A leaked credential used from elsewhere is refused before anything is counted, so it cannot use up its owner's
        // limits: three refused calls, then the owner's two allowed ones still go through.
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, gateway: "trustedProxies: [127.0.0.1, \"::1\"]", app: ", ipFilter: { allow: [192.0.2.0/24] }")
            .Replace("retail: { include: [ { route: items } ] }", "retail: { include: [ { route: items } ], limits: [ { requests: 2, per: minute } ] }", StringComparison.Ordinal));

        async Task<HttpStatusCode> CallFromAsync(string address)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/items/1");
            request.Headers.TryAddWithoutValidation("Authorization", Basic("erp", "correct horse"));
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", address);
            using var response = await gateway.Client.SendAsync(request);
            return response.StatusCode;
        }

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Forbidden, await CallFromAsync("203.0.113.9"));
        }

        Assert.Equal(HttpStatusCode.OK, await CallFromAsync("192.0.2.5"));
        Assert.Equal(HttpStatusCode.OK, await CallFromAsync("192.0.2.6"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await CallFromAsync("192.0.2.5"));
        Assert.Equal(2, backend.Count);
    }

    private static string IntrospectionGateway(string url, string timeout = "1s") =>
        $"introspection: {{ url: \"{url}/introspect\", audience: shop, timeout: {timeout}, credential: {{ header: Authorization, prefix: \"Basic \", env: GH_TEST_INTROSPECTION_AUTH }} }}";

    [Fact]
    public async Task Introspection_ActiveTokenOfAKnownClient_IsTheApplication_AndIsAskedOnce()
    {
        await using var provider = await FakeIntrospection.StartAsync();
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, IntrospectionGateway(provider.Url)));

        var (first, _) = await GetAsync(gateway, "Bearer good");
        var (second, _) = await GetAsync(gateway, "Bearer good");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.All(backend.Seen, s => Assert.Equal("legacy", s.Headers["Gatehouse-Application"]));
        Assert.All(backend.Seen, s => Assert.False(s.Headers.ContainsKey("Authorization")));
        Assert.Equal(1, provider.Calls);
        Assert.Equal("Basic c2VjcmV0", provider.LastAuthorization);
    }

    [Theory]
    [InlineData("inactive")]
    [InlineData("other-aud")]
    [InlineData("no-aud")]
    [InlineData("expired")]
    [InlineData("unknown-client")]
    [InlineData("no-client")]
    [InlineData("active-as-string")]
    [InlineData("not-json")]
    [InlineData("status-500")]
    [InlineData("slow")]
    public async Task Introspection_AnswerThatDoesNotFit_IsTheSame401(string token)
    {
        await using var provider = await FakeIntrospection.StartAsync();
        await using var backend = await RecordingBackend.StartAsync();
        // Only "slow" is about the timeout, and its provider waits 10 s: 2 s is enough to see the gateway give up. Every other
        // answer must arrive to be judged, so it gets 10 s (used only by a slow machine): with 500 ms for all, a loaded run's
        // first call to the provider timed out, was refused as the same 401 without being judged, and failed "the provider was asked".
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, IntrospectionGateway(provider.Url, timeout: token == "slow" ? "2s" : "10s")));
        var (reference, referenceBody) = await GetAsync(gateway, "Bearer inactive-reference");

        var (refused, body) = await GetAsync(gateway, "Bearer " + token);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(
            referenceBody.Replace(reference.Headers.GetValues("X-Request-Id").Single(), "", StringComparison.Ordinal),
            body.Replace(refused.Headers.GetValues("X-Request-Id").Single(), "", StringComparison.Ordinal));
        Assert.Equal(0, backend.Count);
        Assert.True(provider.Calls >= 2, "the provider was asked");
    }

    [Fact]
    public async Task Introspection_EndpointDown_CachedActiveTokenStillWorks_EveryOtherTokenIsRefused()
    {
        var provider = await FakeIntrospection.StartAsync();
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, IntrospectionGateway(provider.Url)));
        var (before, _) = await GetAsync(gateway, "Bearer good");
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);

        await provider.DisposeAsync();
        var (cached, _) = await GetAsync(gateway, "Bearer good");
        var (uncached, _) = await GetAsync(gateway, "Bearer good-too");

        Assert.Equal(HttpStatusCode.OK, cached.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, uncached.StatusCode);
        Assert.Equal(2, backend.Count);
    }

    [Fact]
    public async Task Introspection_PositiveAnswer_IsCachedOnlyUntilTheTokensExp()
    {
        var time = new Gatehouse.Gateway.Tests.TestSupport.FakeTimeProvider();
        await using var provider = await FakeIntrospection.StartAsync(expiresIn: TimeSpan.FromSeconds(30), clock: time);
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, IntrospectionGateway(provider.Url)), time: time);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(gateway, "Bearer good")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(gateway, "Bearer good")).Response.StatusCode);
        Assert.Equal(1, provider.Calls);

        // Past exp the cached answer is gone, so the gateway asks again (and the provider, on the same clock, says active again).
        time.Advance(TimeSpan.FromSeconds(31));
        await GetAsync(gateway, "Bearer good");

        Assert.Equal(2, provider.Calls);
    }

    [Fact]
    public async Task Introspection_ARefusedToken_IsNotAskedAboutAgainForAWhile_AndConcurrentRequestsAskOnce()
    {
        // A client retrying with an expired token, or a page's first calls all bringing one new token, must not each call
        // the endpoint: an expired token is refused without asking again (up to maxCacheTime), another refusal only with
        // inactiveCacheTime (off by default: asked again), and one call answers every request that waits.
        var time = new Gatehouse.Gateway.Tests.TestSupport.FakeTimeProvider();
        await using var provider = await FakeIntrospection.StartAsync(clock: time, delay: TimeSpan.FromMilliseconds(300));
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, IntrospectionGateway(provider.Url, timeout: "10s")), time: time);

        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "Bearer expired")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "Bearer expired")).Response.StatusCode);
        Assert.Equal(1, provider.Calls);
        time.Advance(TimeSpan.FromMinutes(5.1)); // past maxCacheTime: asked again
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "Bearer expired")).Response.StatusCode);
        Assert.Equal(2, provider.Calls);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "Bearer inactive")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "Bearer inactive")).Response.StatusCode);
        Assert.Equal(4, provider.Calls);

        var together = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => GetAsync(gateway, "Bearer good")));
        Assert.All(together, t => Assert.Equal(HttpStatusCode.OK, t.Response.StatusCode));
        Assert.Equal(5, provider.Calls);

        // A token not valid before a later time is refused, as RFC 7662 has it.
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "Bearer not-yet")).Response.StatusCode);
    }

    [Fact]
    public async Task Introspection_WithInactiveCacheTime_ARefusedTokenIsNotAskedAboutAgainUntilItPasses()
    {
        var time = new Gatehouse.Gateway.Tests.TestSupport.FakeTimeProvider();
        await using var provider = await FakeIntrospection.StartAsync(clock: time);
        await using var backend = await RecordingBackend.StartAsync();
        var introspection = IntrospectionGateway(provider.Url, timeout: "10s").Replace("timeout: 10s", "timeout: 10s, inactiveCacheTime: 30s", StringComparison.Ordinal);
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, introspection), time: time);

        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "Bearer inactive")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "Bearer inactive")).Response.StatusCode);
        Assert.Equal(1, provider.Calls);
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, "Bearer inactive")).Response.StatusCode);
        Assert.Equal(2, provider.Calls);
    }

    /// <summary>
    /// An RFC 7662 provider on loopback (a fake provider, like the test backends): answers by the token's name, checks
    /// nothing itself, and counts the calls.
    /// </summary>
    private sealed class FakeIntrospection : IAsyncDisposable
    {
        private readonly TestBackend _server;
        private int _calls;
        private bool _disposed;

        private FakeIntrospection(TestBackend server) => _server = server;

        public string Url => _server.Url;

        public int Calls => Volatile.Read(ref _calls);

        public string? LastAuthorization { get; private set; }

        public static async Task<FakeIntrospection> StartAsync(TimeSpan? expiresIn = null, TimeProvider? clock = null, TimeSpan? delay = null)
        {
            FakeIntrospection? self = null;
            var server = await TestBackend.StartAsync(async context =>
            {
                Interlocked.Increment(ref self!._calls);
                if (delay is { } wait)
                {
                    await Task.Delay(wait);
                }

                self.LastAuthorization = context.Request.Headers.Authorization.ToString();
                var form = await context.Request.ReadFormAsync();
                var now = (clock ?? TimeProvider.System).GetUtcNow();
                var exp = now.Add(expiresIn ?? TimeSpan.FromHours(1)).ToUnixTimeSeconds();
                string answer;
                switch (form["token"].ToString())
                {
                    case "good" or "good-too":
                        answer = $"{{\"active\":true,\"client_id\":\"erp-client\",\"aud\":[\"shop\",\"other\"],\"exp\":{exp}}}";
                        break;
                    case "other-aud":
                        answer = $"{{\"active\":true,\"client_id\":\"erp-client\",\"aud\":\"billing\",\"exp\":{exp}}}";
                        break;
                    case "no-aud":
                        answer = $"{{\"active\":true,\"client_id\":\"erp-client\",\"exp\":{exp}}}";
                        break;
                    case "expired":
                        answer = $"{{\"active\":true,\"client_id\":\"erp-client\",\"aud\":\"shop\",\"exp\":{now.AddMinutes(-1).ToUnixTimeSeconds()}}}";
                        break;
                    case "unknown-client":
                        answer = $"{{\"active\":true,\"client_id\":\"stranger\",\"aud\":\"shop\",\"exp\":{exp}}}";
                        break;
                    case "not-yet":
                        answer = $"{{\"active\":true,\"client_id\":\"erp-client\",\"aud\":\"shop\",\"exp\":{exp},\"nbf\":{now.AddMinutes(5).ToUnixTimeSeconds()}}}";
                        break;
                    case "no-client":
                        answer = $"{{\"active\":true,\"aud\":\"shop\",\"exp\":{exp}}}";
                        break;
                    case "active-as-string":
                        answer = $"{{\"active\":\"true\",\"client_id\":\"erp-client\",\"aud\":\"shop\",\"exp\":{exp}}}";
                        break;
                    case "not-json":
                        answer = "active";
                        break;
                    case "status-500":
                        context.Response.StatusCode = 500;
                        return;
                    case "slow":
                        // Longer than the gateway's timeout; the gateway gives up and closes the connection.
                        try
                        {
                            await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted);
                        }
                        catch (OperationCanceledException)
                        {
                        }

                        answer = $"{{\"active\":true,\"client_id\":\"erp-client\",\"aud\":\"shop\",\"exp\":{exp}}}";
                        break;
                    default:
                        answer = "{\"active\":false}";
                        break;
                }

                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(answer);
            });
            self = new FakeIntrospection(server);
            return self;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_disposed)
            {
                _disposed = true;
                await _server.DisposeAsync();
            }
        }
    }
}
