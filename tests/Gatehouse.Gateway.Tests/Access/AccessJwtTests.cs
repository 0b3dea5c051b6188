using Gatehouse.Gateway.Tests.Authentication;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>
/// Issue #3, the JWT corpus through a real gateway: every hostile or broken bearer token gets 401 with
/// <c>Bearer error="invalid_token"</c> and never reaches the service; a good token whose <c>azp</c> names an
/// application is served as that application.
/// </summary>
public sealed class AccessJwtTests : IAsyncLifetime
{
    private readonly SigningKey _key = SigningKey.Rsa("rsa-1");
    private readonly SigningKey _attacker = SigningKey.Rsa("rsa-1"); // same kid, another key
    private readonly TempDirectory _dir = new();
    private TestBackend _backend = null!;
    private JwksServer _trap = null!;
    private TestGateway _gateway = null!;
    private int _backendHits;

    private static DateTimeOffset Now => DateTimeOffset.UtcNow;

    public async Task InitializeAsync()
    {
        var jwks = _dir.Write("jwks.json", SigningKey.Jwks(_key));
        _trap = await JwksServer.StartAsync(SigningKey.Jwks(_attacker));
        _backend = await TestBackend.StartAsync(async context =>
        {
            Interlocked.Increment(ref _backendHits);
            await context.Response.WriteAsync(
                $"{context.Request.Headers["Gatehouse-Application"]}|{context.Request.Headers["Gatehouse-Plan"]}|{context.Request.Headers.Authorization}");
        });
        var yaml = $$"""
            version: 1
            gateway:
              jwt:
                issuers:
                  login:
                    issuer: "{{Jws.Issuer}}"
                    audiences: ["{{Jws.Audience}}"]
                    jwksFile: "{{jwks}}"
                    algorithms: [RS256]

            """ + AccessKit.ServicesAndRoutes(_backend.Url) + """
            plans:
              retail:
                include: [ { tag: users, access: read } ]
            accounts: { acme: {} }
            applications:
              shop: { account: acme, plan: retail, clientIds: [shop-app] }

            """;
        _gateway = await TestGateway.StartAsync(yaml);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _backend.DisposeAsync();
        await _trap.DisposeAsync();
        _dir.Dispose();
        _key.Dispose();
        _attacker.Dispose();
    }

    public static TheoryData<string> Corpus() =>
    [
        "alg-none", "hs256-with-rsa-public-key", "expired", "not-yet-valid", "wrong-iss", "wrong-aud", "unknown-kid",
        "jku-header", "x5u-header", "bad-signature", "tampered-payload", "unknown-application",
    ];

    private string Token(string kind)
    {
        var claims = Jws.Claims(Now);
        var header = Jws.Header(_key);
        switch (kind)
        {
            case "alg-none":
                return Jws.Unsigned(claims, kid: _key.Kid);
            case "hs256-with-rsa-public-key":
                return Jws.Hs256(_key.PublicKeyPem(), new() { ["alg"] = "HS256", ["typ"] = "JWT", ["kid"] = _key.Kid }, claims);
            case "expired":
                claims["iat"] = Now.AddHours(-2).ToUnixTimeSeconds();
                claims["nbf"] = Now.AddHours(-2).ToUnixTimeSeconds();
                claims["exp"] = Now.AddHours(-1).ToUnixTimeSeconds();
                return Jws.Sign(_key, claims);
            case "not-yet-valid":
                claims["nbf"] = Now.AddHours(1).ToUnixTimeSeconds();
                claims["exp"] = Now.AddHours(2).ToUnixTimeSeconds();
                return Jws.Sign(_key, claims);
            case "wrong-iss":
                claims["iss"] = "https://evil.example.test/";
                return Jws.Sign(_key, claims);
            case "wrong-aud":
                claims["aud"] = "https://other.example.test";
                return Jws.Sign(_key, claims);
            case "unknown-kid":
                header["kid"] = "nobody";
                return Jws.Sign(_key, claims, header);
            case "jku-header":
                // The attacker's key set, on a server the attacker controls: the gateway must not even fetch it.
                return Jws.Sign(_attacker, claims, new() { ["alg"] = "RS256", ["typ"] = "JWT", ["kid"] = _attacker.Kid, ["jku"] = _trap.Url.ToString() });
            case "x5u-header":
                return Jws.Sign(_attacker, claims, new() { ["alg"] = "RS256", ["typ"] = "JWT", ["kid"] = _attacker.Kid, ["x5u"] = _trap.Url.ToString() });
            case "bad-signature":
                return Jws.Sign(_attacker, claims);
            case "tampered-payload":
                var good = Jws.Sign(_key, claims).Split('.');
                claims["azp"] = "someone-else";
                return $"{good[0]}.{Jws.B64(System.Text.Json.JsonSerializer.Serialize(claims))}.{good[2]}";
            case "unknown-application":
                claims["azp"] = "no-such-app";
                return Jws.Sign(_key, claims);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task HostileOrBrokenToken_Gets401_AndNeverReachesTheService(string kind)
    {
        var sent = await AccessKit.SendAsync(_gateway.Client, "GET", "/users/42", null, ("Authorization", "Bearer " + Token(kind)));

        Assert.Equal(401, sent.Status);
        Assert.Equal("Bearer error=\"invalid_token\"", sent.Header("WWW-Authenticate"));
        Assert.Equal(0, Volatile.Read(ref _backendHits));
        Assert.Equal(0, _trap.Hits);
    }

    [Fact]
    public async Task ValidToken_WhoseAzpNamesAnApplication_IsServedAsThatApplication()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/users/42");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Jws.Sign(_key, Jws.Claims(Now)));

        using var response = await _gateway.Client.SendAsync(request);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("shop|retail|", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, Volatile.Read(ref _backendHits));
    }

    [Fact]
    public async Task ValidToken_OfAPortalApplicationsClientId_IsServedAsThatApplication_WhileItHoldsIt()
    {
        async Task<(int Status, string Body)> CallAsync(string azp)
        {
            var claims = Jws.Claims(Now);
            claims["azp"] = azp;
            using var request = new HttpRequestMessage(HttpMethod.Get, "/users/42");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Jws.Sign(_key, claims));
            using var response = await _gateway.Client.SendAsync(request);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var consumers = _gateway.Host.Runtime.Consumers;
        Assert.Equal(401, (await CallAsync("portal-spa")).Status);
        consumers.Upsert(new Gatehouse.Model.Consumers.ConsumerApplication("app-portal1", "acc-1", "retail", Gatehouse.Model.Config.ApplicationState.Live, [], ["portal-spa", "portal-cli"]));
        Assert.Equal((200, "app-portal1|retail|"), await CallAsync("portal-spa"));
        Assert.Equal((200, "app-portal1|retail|"), await CallAsync("portal-cli"));

        // The config's own client ids are found first; a changed application keeps only the ids it holds now.
        consumers.Upsert(new Gatehouse.Model.Consumers.ConsumerApplication("app-portal2", "acc-1", "retail", Gatehouse.Model.Config.ApplicationState.Live, [], ["shop-app"]));
        Assert.Equal((200, "shop|retail|"), await CallAsync("shop-app"));
        consumers.Upsert(new Gatehouse.Model.Consumers.ConsumerApplication("app-portal1", "acc-1", "retail", Gatehouse.Model.Config.ApplicationState.Live, [], ["portal-cli"]));
        Assert.Equal(401, (await CallAsync("portal-spa")).Status);
        Assert.Equal(200, (await CallAsync("portal-cli")).Status);

        // Suspended, its tokens are refused as its keys are; removed, or left out of a whole set, they name nothing.
        consumers.Upsert(new Gatehouse.Model.Consumers.ConsumerApplication("app-portal1", "acc-1", "retail", Gatehouse.Model.Config.ApplicationState.Suspended, [], ["portal-cli"]));
        Assert.Equal(403, (await CallAsync("portal-cli")).Status);
        consumers.Remove("app-portal1");
        Assert.Equal(401, (await CallAsync("portal-cli")).Status);
        consumers.Upsert(new Gatehouse.Model.Consumers.ConsumerApplication("app-portal3", "acc-1", "retail", Gatehouse.Model.Config.ApplicationState.Live, [], ["portal-web"]));
        Assert.Equal(200, (await CallAsync("portal-web")).Status);
        consumers.Reset([new Gatehouse.Model.Consumers.ConsumerApplication("app-portal2", "acc-1", "retail", Gatehouse.Model.Config.ApplicationState.Live, [], [])]);
        Assert.Equal(401, (await CallAsync("portal-web")).Status);
    }

    [Fact]
    public async Task ValidToken_OnAnOperationThePlanDoesNotGrant_Gets403()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "/users/42");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Jws.Sign(_key, Jws.Claims(Now)));

        using var response = await _gateway.Client.SendAsync(request);

        Assert.Equal(403, (int)response.StatusCode);
        Assert.Equal(0, Volatile.Read(ref _backendHits));
    }
}
