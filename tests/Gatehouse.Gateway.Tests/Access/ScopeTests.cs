using System.Net.Http.Json;
using Gatehouse.Gateway.Tests.Authentication;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.Policies;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>
/// Issue 23, OAuth scopes: an operation's and a route's <c>requireScopes</c> through a real gateway, with JWTs (scopes
/// in <c>scope</c> or <c>scp</c>) and opaque tokens from a real introspection endpoint (whose <c>iss</c> must be
/// <c>gateway.introspection.issuer</c>). A token without a required scope gets 403 <c>insufficient-scope</c> with RFC
/// 6750's challenge and never reaches the service; a route that requires no scopes does not look at them.
/// </summary>
[Trait("Issue", "23")]
public sealed class ScopeTests : IAsyncLifetime
{
    private const string AuthServer = "https://auth.example.test/";
    private static readonly TestKey ApiKey = TestKey.From("scope-tests-key");
    private static readonly TestKey ServiceToken = TestKey.From("ghs_scope-tests-service-token");

    private readonly SigningKey _key = SigningKey.Rsa("rsa-1");
    private readonly TempDirectory _dir = new();
    private RecordingBackend _backend = null!;
    private TestBackend _introspection = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        var jwks = _dir.Write("jwks.json", SigningKey.Jwks(_key));
        _backend = await RecordingBackend.StartAsync();
        _introspection = await TestBackend.StartAsync(async context =>
        {
            var form = await context.Request.ReadFormAsync();
            var exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
            var answer = form["token"].ToString() switch
            {
                "opaque-read" => $$"""{"active":true,"client_id":"shop-app","iss":"{{AuthServer}}","scope":"profile orders:read","exp":{{exp}}}""",
                "opaque-profile" => $$"""{"active":true,"client_id":"shop-app","iss":"{{AuthServer}}","scope":"profile","exp":{{exp}}}""",
                "opaque-scope-list" => $$"""{"active":true,"client_id":"shop-app","iss":"{{AuthServer}}","scope":["orders:read"],"exp":{{exp}}}""",
                "opaque-other-iss" => $$"""{"active":true,"client_id":"shop-app","iss":"https://evil.example.test/","scope":"orders:read","exp":{{exp}}}""",
                "opaque-no-iss" => $$"""{"active":true,"client_id":"shop-app","scope":"orders:read","exp":{{exp}}}""",
                _ => """{"active":false}""",
            };
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(answer);
        });
        var yaml = $$"""
            version: 1
            gateway:
              jwt:
                issuers:
                  login: { issuer: "{{Jws.Issuer}}", audiences: ["{{Jws.Audience}}"], jwksFile: "{{jwks}}", algorithms: [RS256] }
              introspection: { url: "{{_introspection.Url}}/introspect", issuer: "{{AuthServer}}", timeout: 10s }
              serviceApi: { url: "http://127.0.0.1:0", tokenSha256: [ {{ServiceToken.Sha256}} ] }
            services:
              api:
                targets: [{{_backend.Url}}]
                operations:
                  orders.get: { method: GET, path: "/orders/{id}", requireScopes: ["orders:read"] }
                  orders.list: { method: GET, path: "/orders" }
            routes:
              order: { operation: orders.get }
              audit: { operation: orders.get, path: "/audit/orders/{id}", requireScopes: ["orders:audit"] }
              orders: { operation: orders.list }
              admin: { methods: [GET], path: "/admin", service: api, requireScopes: [admin, "orders:read"] }
            compositions:
              card:
                path: "/cards/{id}"
                requireScopes: ["cards:read"]
                steps:
                  orders: { operation: orders.list }
            plans:
              retail: { include: [ { operation: orders.get }, { operation: orders.list }, { route: admin }, { operation: compositions.card } ] }
            accounts: { acme: {} }
            applications:
              shop: { account: acme, plan: retail, clientIds: [shop-app], keys: [ { sha256: {{ApiKey.Sha256}} } ] }
            """;
        _gateway = await TestGateway.StartAsync(yaml);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _introspection.DisposeAsync();
        await _backend.DisposeAsync();
        _dir.Dispose();
        _key.Dispose();
    }

    private string Jwt(string? claim = null, object? scopes = null)
    {
        var claims = Jws.Claims(DateTimeOffset.UtcNow);
        if (claim is not null)
        {
            claims[claim] = scopes;
        }

        return Jws.Sign(_key, claims);
    }

    private Task<Sent> GetAsync(string path, string? token = null, string? key = null) =>
        token is null
            ? AccessKit.SendAsync(_gateway.Client, "GET", path, key)
            : AccessKit.SendAsync(_gateway.Client, "GET", path, key, ("Authorization", "Bearer " + token));

    public static TheoryData<string, object> ScopesThatHoldTheOne() => new()
    {
        { "scope", "profile orders:read" },
        { "scope", "orders:read" },
        { "scp", new[] { "profile", "orders:read" } },
        { "scp", "orders:read profile" },
    };

    [Theory]
    [MemberData(nameof(ScopesThatHoldTheOne))]
    public async Task Jwt_WithTheRequiredScope_AsStringOrList_IsServed(string claim, object scopes)
    {
        var sent = await GetAsync("/orders/7", Jwt(claim, scopes));

        Assert.Equal(200, sent.Status);
        Assert.Equal("shop", Assert.Single(_backend.Seen).Headers["Gatehouse-Application"]);
    }

    public static TheoryData<string?, object?> ScopesThatLackTheOne() => new()
    {
        { null, null },
        { "scope", "profile" },
        { "scope", "orders:reader xorders:read orders" },
        { "scope", "" },
        { "scp", new[] { "profile", "orders:write" } },
        { "scp", "orders:write" },
        { "scope", 42 },
    };

    [Theory]
    [MemberData(nameof(ScopesThatLackTheOne))]
    public async Task Jwt_WithoutTheRequiredScope_Gets403InsufficientScope_WithTheChallenge_AndNeverReachesTheService(string? claim, object? scopes)
    {
        var sent = await GetAsync("/orders/7", Jwt(claim, scopes));

        Assert.Equal(403, sent.Status);
        Assert.Equal("Bearer error=\"insufficient_scope\", scope=\"orders:read\"", sent.Header("WWW-Authenticate"));
        Assert.Equal("application/problem+json", sent.Response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"type\":\"urn:gatehouse:problem:insufficient-scope\"", sent.Body, StringComparison.Ordinal);
        Assert.Contains("lacks 'orders:read'", sent.Body, StringComparison.Ordinal);
        Assert.Empty(_backend.Seen);
    }

    [Fact]
    public async Task ARouteRequiringScopes_AddsThemToItsOperations_WhileTheOperationsOtherRouteNeedsOnlyItsOwn()
    {
        var readOnly = Jwt("scope", "orders:read");

        Assert.Equal(200, (await GetAsync("/orders/7", readOnly)).Status);
        var refused = await GetAsync("/audit/orders/7", readOnly);
        Assert.Equal(403, refused.Status);
        Assert.Equal("Bearer error=\"insufficient_scope\", scope=\"orders:read orders:audit\"", refused.Header("WWW-Authenticate"));
        Assert.Equal(200, (await GetAsync("/audit/orders/7", Jwt("scope", "orders:audit orders:read"))).Status);
        Assert.Equal(403, (await GetAsync("/admin", readOnly)).Status);
        Assert.Equal(200, (await GetAsync("/admin", Jwt("scp", new[] { "orders:read", "admin" }))).Status);
        Assert.Equal(3, _backend.Count);
    }

    [Fact]
    public async Task ARouteWithoutScopes_ServesATokenWithoutAny_AndAnApiKey()
    {
        Assert.Equal(200, (await GetAsync("/orders", Jwt())).Status);
        Assert.Equal(200, (await GetAsync("/orders", key: ApiKey.Plaintext)).Status);
        Assert.Equal(2, _backend.Count);
    }

    [Fact]
    public async Task ARouteRequiringScopes_RefusesAnApiKey_As403_AndNoCredential_As401WithTheBearerChallenge()
    {
        var keyed = await GetAsync("/orders/7", key: ApiKey.Plaintext);
        var anonymous = await GetAsync("/orders/7");

        Assert.Equal(403, keyed.Status);
        Assert.Contains("urn:gatehouse:problem:insufficient-scope", keyed.Body, StringComparison.Ordinal);
        Assert.Equal("Bearer error=\"insufficient_scope\", scope=\"orders:read\"", keyed.Header("WWW-Authenticate"));
        Assert.Equal(401, anonymous.Status);
        Assert.Equal("Bearer scope=\"orders:read\"", anonymous.Header("WWW-Authenticate"));
        Assert.Empty(_backend.Seen);
    }

    [Fact]
    public async Task AComposition_RequiringScopes_RefusesATokenWithoutThem_WithTheChallenge_AndRunsForOneWithThem()
    {
        var lacking = await GetAsync("/cards/7", Jwt("scope", "orders:read"));

        Assert.Equal(403, lacking.Status);
        Assert.Equal("Bearer error=\"insufficient_scope\", scope=\"cards:read\"", lacking.Header("WWW-Authenticate"));
        Assert.Contains("\"type\":\"urn:gatehouse:problem:insufficient-scope\"", lacking.Body, StringComparison.Ordinal);
        Assert.Contains("operation 'compositions.card'", lacking.Body, StringComparison.Ordinal);
        var keyed = await GetAsync("/cards/7", key: ApiKey.Plaintext);
        Assert.Equal(403, keyed.Status);
        Assert.Equal("Bearer error=\"insufficient_scope\", scope=\"cards:read\"", keyed.Header("WWW-Authenticate"));
        Assert.Equal("Bearer scope=\"cards:read\"", (await GetAsync("/cards/7")).Header("WWW-Authenticate"));
        Assert.Empty(_backend.Seen);

        // Its step calls orders.list as the gateway's own call, which needs no token and no scope.
        var served = await GetAsync("/cards/7", Jwt("scp", new[] { "cards:read" }));
        Assert.Equal(200, served.Status);
        Assert.Contains("\"orders\":", served.Body, StringComparison.Ordinal);
        Assert.Equal("/orders", Assert.Single(_backend.Seen).Target);
    }

    [Fact]
    public async Task IntrospectedToken_ItsScopeDecides()
    {
        Assert.Equal(200, (await GetAsync("/orders/7", "opaque-read")).Status);
        var lacking = await GetAsync("/orders/7", "opaque-profile");
        Assert.Equal(403, lacking.Status);
        Assert.Equal("Bearer error=\"insufficient_scope\", scope=\"orders:read\"", lacking.Header("WWW-Authenticate"));
        // RFC 7662's scope is a string; a list is no scope at all.
        Assert.Equal(403, (await GetAsync("/orders/7", "opaque-scope-list")).Status);
        Assert.Equal(200, (await GetAsync("/orders", "opaque-profile")).Status);
        Assert.Equal(2, _backend.Count);
    }

    [Theory]
    [InlineData("opaque-other-iss")]
    [InlineData("opaque-no-iss")]
    public async Task IntrospectedToken_OfAnotherIssuer_OrOfNone_Gets401AsAnInvalidToken(string token)
    {
        var sent = await GetAsync("/orders", token);

        Assert.Equal(401, sent.Status);
        Assert.Equal("Bearer error=\"invalid_token\"", sent.Header("WWW-Authenticate"));
        Assert.Empty(_backend.Seen);
    }

    private HttpClient ServiceApi()
    {
        var api = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(_gateway.Host.ServiceApiUrl!) };
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServiceToken.Plaintext);
        return api;
    }

    [Fact]
    public async Task TheServiceApi_AppliesAnOperationsScopes_AsTheProxyDoes()
    {
        using var api = ServiceApi();

        async Task<(bool Allowed, string? Reason)> AuthorizeAsync(string token)
        {
            using var response = await api.PostAsJsonAsync("/api/authorize", new { credential = new { bearer = token }, operation = "orders.get" });
            var answer = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            return (answer.GetProperty("allowed").GetBoolean(), answer.GetProperty("reason").GetString());
        }

        Assert.Equal((true, null), await AuthorizeAsync(Jwt("scope", "orders:read")));
        Assert.Equal((false, "insufficient_scope"), await AuthorizeAsync(Jwt("scope", "profile")));
        Assert.Equal((false, "insufficient_scope"), await AuthorizeAsync("opaque-profile"));
        Assert.Equal((true, null), await AuthorizeAsync("opaque-read"));
    }

    [Fact]
    public async Task TheServiceApisReport_RejectsACallTheTokensScopesDidNotAllow_AsAuthorizeRefusesIt_AndCountsTheOthers()
    {
        using var api = ServiceApi();
        object Entry(object credential, string operation) => new { credential, operation, hits = 2 };

        using var response = await api.PostAsJsonAsync("/api/report", new
        {
            usage = new[]
            {
                Entry(new { bearer = Jwt("scope", "orders:read") }, "orders.get"),
                Entry(new { bearer = Jwt("scope", "profile") }, "orders.get"),
                Entry(new { bearer = "opaque-profile" }, "orders.get"),
                Entry(new { apiKey = ApiKey.Plaintext }, "compositions.card"),
                Entry(new { }, "compositions.card"),
                Entry(new { bearer = Jwt("scp", new[] { "cards:read" }) }, "compositions.card"),
                Entry(new { apiKey = ApiKey.Plaintext }, "orders.list"),
            },
        });

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var answer = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(3, answer.GetProperty("accepted").GetInt32());
        var rejected = answer.GetProperty("rejected").EnumerateArray().Select(r => (r.GetProperty("index").GetInt32(), r.GetProperty("reason").GetString())).ToArray();
        Assert.Equal([(1, "insufficient_scope"), (2, "insufficient_scope"), (3, "insufficient_scope"), (4, "missing_credential")], rejected);
    }

    [Fact]
    public async Task TheServiceApisDocument_ListsInsufficientScope_AmongAnswersReasons()
    {
        using var api = ServiceApi();
        var document = System.Text.Json.Nodes.JsonNode.Parse(await api.GetStringAsync("/api/openapi.json"))!;
        var schemas = document["components"]!["schemas"]!;

        Assert.Contains("insufficient_scope", schemas["Decision"]!["properties"]!["reason"]!["enum"]!.AsArray().Select(r => (string?)r));
        Assert.Contains("insufficient_scope", (string?)schemas["ReportResult"]!["properties"]!["rejected"]!["items"]!["properties"]!["reason"]!["description"], StringComparison.Ordinal);
    }
}
