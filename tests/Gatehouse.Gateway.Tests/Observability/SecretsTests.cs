using System.Text.Json;
using Gatehouse.Gateway.Tests.Authentication;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Access;

namespace Gatehouse.Gateway.Tests.Observability;

/// <summary>
/// No credential reaches the access log, the traces or /metrics: keys in a header and in the query, a JWT, cookies and basic
/// credentials are sent, and then every written byte is searched for them.
/// </summary>
[Trait("Issue", "19")]
[Collection(SerialCollection.Name)]
public sealed class SecretsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly SigningKey _key = SigningKey.Rsa("rsa-secrets");

    [Fact]
    public async Task KeysTokensAndCookies_AppearNowhereInLogsTracesOrMetrics()
    {
        var headerKey = ApiKeyHash.NewKey();
        var queryKey = ApiKeyHash.NewKey();
        var jwt = Jws.Sign(_key, Jws.Claims(DateTimeOffset.UtcNow));
        var jwks = _dir.Write("jwks.json", SigningKey.Jwks(_key));
        var log = Path.Combine(_dir.Path, "access.log");
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var backend = await TestBackend.StartEchoAsync();
        var gateway = await TestGateway.StartAsync(TestGateway.Parse($$"""
            version: 1
            gateway:
              jwt:
                issuers:
                  login: { issuer: "{{Jws.Issuer}}", audiences: ["{{Jws.Audience}}"], jwksFile: "{{jwks}}", algorithms: [RS256] }
              observability:
                metrics: { url: "http://127.0.0.1:0", applicationLabel: true }
                accessLog: { path: "{{log}}" }
            services:
              echo: { targets: [{{backend.Url}}] }
            routes:
              secret-route: { path: "/secret/{id}", service: echo, apiKeyInQuery: true }
            plans:
              all: { include: [ { path: "/**" } ] }
            accounts: { acme: {} }
            applications:
              header-app: { account: acme, plan: all, keys: [ { sha256: {{ApiKeyHash.Sha256Hex(headerKey)}} } ] }
              query-app: { account: acme, plan: all, keys: [ { sha256: {{ApiKeyHash.Sha256Hex(queryKey)}} } ] }
              shop: { account: acme, plan: all, clientIds: [shop-app] }
            """), options: o => o with { TelemetrySettings = receiver.Settings() });
        string metrics;
        try
        {
            await SendAsync(gateway, "/secret/1", ("X-Api-Key", headerKey), ("Cookie", "session=cookie-secret-1"));
            await SendAsync(gateway, $"/secret/2?api_key={queryKey}&password=pw-secret-2&page=3");
            await SendAsync(gateway, "/secret/3", ("Authorization", "Bearer " + jwt));
            await SendAsync(gateway, "/secret/4?token=tk-secret-4", ("Authorization", "Basic dXNlcjpiYXNpYy1zZWNyZXQ="), ("X-Api-Key", "ghk_wrong-key-secret"));
            using var client = new HttpClient();
            metrics = await client.GetStringAsync(gateway.Host.MetricsUrl + "/metrics");
        }
        finally
        {
            await gateway.DisposeAsync(); // writes the last log lines and exports the last spans
        }

        var lines = (await File.ReadAllLinesAsync(log)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var logText = await File.ReadAllTextAsync(log);
        var traces = System.Text.Encoding.Latin1.GetString(receiver.AllBytes);
        string[] secrets = [headerKey, queryKey, jwt, jwt.Split('.')[2], "cookie-secret-1", "pw-secret-2", "tk-secret-4", "dXNlcjpiYXNpYy1zZWNyZXQ=", "ghk_wrong-key-secret", "Bearer", "Basic "];
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, logText, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, traces, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, metrics, StringComparison.Ordinal);
        }

        Assert.Equal(4, lines.Count);
        Assert.Equal(["header-app", "query-app", "shop", null], lines.Select(l => l.TryGetProperty("application", out var a) ? a.GetString() : null));
        Assert.Equal([200, 200, 200, 401], lines.Select(l => l.GetProperty("status").GetInt32()));
        Assert.Equal("?api_key=REDACTED&password=REDACTED&page=3", lines[1].GetProperty("query").GetString());
        Assert.Equal("?token=REDACTED", lines[3].GetProperty("query").GetString());
        Assert.All(lines, l => Assert.Matches("^[0-9a-f]{32}$", l.GetProperty("requestId").GetString()));
        Assert.All(lines, l => Assert.Equal("127.0.0.1", l.GetProperty("client").GetString()));
        Assert.Contains("gatehouse_application=\"header-app\"", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKeyForwardedUnderItsOwnQueryParameterName_IsHiddenInTheUpstreamSpan()
    {
        // A route that forwards the credential sends the key's query parameter upstream; its name here is not one of the
        // usual secret names, and the client span's url.full must still hide it.
        var key = ApiKeyHash.NewKey();
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var backend = await TestBackend.StartEchoAsync();
        var gateway = await TestGateway.StartAsync(TestGateway.Parse($$"""
            version: 1
            gateway:
              apiKeys: { queryParameter: user_key }
            services:
              echo: { targets: [{{backend.Url}}] }
            routes:
              keyed: { path: "/keyed/{id}", service: echo, apiKeyInQuery: true, forwardCredential: true }
            plans:
              all: { include: [ { path: "/**" } ] }
            accounts: { acme: {} }
            applications:
              app: { account: acme, plan: all, keys: [ { sha256: {{ApiKeyHash.Sha256Hex(key)}} } ] }
            """), options: o => o with { TelemetrySettings = receiver.Settings() });
        try
        {
            using var response = await gateway.Client.GetAsync($"/keyed/1?user_key={key}&page=2");
            Assert.Equal(200, (int)response.StatusCode);
            Assert.Contains(key, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal); // it did go upstream
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var traces = System.Text.Encoding.Latin1.GetString(receiver.AllBytes);
        Assert.Contains("user_key=REDACTED&page=2", traces, StringComparison.Ordinal);
        Assert.DoesNotContain(key, traces, StringComparison.Ordinal);
    }

    private static async Task SendAsync(TestGateway gateway, string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await gateway.Client.SendAsync(request);
        await response.Content.ReadAsStringAsync();
    }

    public void Dispose()
    {
        _key.Dispose();
        _dir.Dispose();
    }
}
