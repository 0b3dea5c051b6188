using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Authentication;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Gateway.Tests.Mcp;

/// <summary>
/// Issue 22, item 5: <c>/mcp</c> as an OAuth resource server (the MCP authorization spec, RFC 9728): metadata, the 401
/// challenge that points at it, bearer JWTs checked for this resource's audience and mapped to their application, and
/// the token never sent upstream. Keys and tokens are made here.
/// </summary>
public sealed class McpAuthorizationTests : IAsyncLifetime
{
    private const string Resource = "https://mcp.example.test/mcp";
    private const string MetadataUrl = "https://mcp.example.test/.well-known/oauth-protected-resource/mcp";

    private readonly SigningKey _key = SigningKey.Rsa("rsa-1");
    private readonly SigningKey _attacker = SigningKey.Rsa("rsa-1"); // same kid, another key
    private readonly TempDirectory _dir = new();
    private readonly ConcurrentQueue<IHeaderDictionary> _upstream = new();
    private TestBackend _backend = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        var jwks = _dir.Write("jwks.json", SigningKey.Jwks(_key));
        var openapi = _dir.Write("users.json", McpKit.OpenApi);
        _backend = await TestBackend.StartAsync(async context =>
        {
            _upstream.Enqueue(new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase)));
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new { id = context.Request.Path.Value!.Split('/').Last(), application = context.Request.Headers["Gatehouse-Application"].ToString() }));
        });
        var yaml = $$"""
            version: 1
            gateway:
              mcp: true
              mcpAuthorization: { resource: "{{Resource}}" }
              jwt:
                issuers:
                  login:
                    issuer: "{{Jws.Issuer}}"
                    audiences: ["{{Jws.Audience}}"]
                    jwksFile: "{{jwks}}"
                    algorithms: [RS256]
            services:
              users:
                targets: [{{_backend.Url}}]
                openapi: { file: "{{openapi}}" }
            routes:
              get: { operation: users.getUser, requireScopes: [users:read] }
              # The same operation on a second route with other scopes, which the projection lists first (by path); its
              # transform tells the backend which route served a call.
              audit:
                operation: users.getUser
                path: "/audit/users/{id}"
                requireScopes: [users:audit]
                policies: { transform: { request: { headers: { set: { X-Route: audit } } } } }
            compositions:
              card:
                path: "/cards/{id}"
                tags: [users]
                requireScopes: ["cards:read"]
                steps:
                  user: { operation: users.getUser, params: { id: "@request.path.id" } }
                response:
                  user: "@user.body"
            plans:
              reader:
                include: [ { tag: users, access: read } ]
            accounts: { acme: {} }
            applications:
              shop: { account: acme, plan: reader, clientIds: [shop-app] }
            """;
        _gateway = await TestGateway.StartAsync(yaml);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _backend.DisposeAsync();
        _dir.Dispose();
        _key.Dispose();
        _attacker.Dispose();
    }

    private string Token(Action<Dictionary<string, object?>>? change = null, SigningKey? key = null)
    {
        var claims = Jws.Claims(DateTimeOffset.UtcNow);
        claims["aud"] = Resource;
        claims["scope"] = "mcp users:read";
        change?.Invoke(claims);
        return Jws.Sign(key ?? _key, claims);
    }

    private async Task<HttpResponseMessage> InitializeAsync(string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/mcp")
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return await _gateway.Client.SendAsync(request);
    }

    [Fact]
    public async Task Metadata_AtBothWellKnownPaths_NamesTheResourceAndTheIssuer()
    {
        foreach (var path in new[] { "/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource" })
        {
            using var response = await _gateway.Client.GetAsync(path);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(Resource, (string?)json["resource"]);
            Assert.Equal([Jws.Issuer], json["authorization_servers"]!.AsArray().Select(s => (string)s!).ToArray());
            Assert.Equal(["header"], json["bearer_methods_supported"]!.AsArray().Select(s => (string)s!).ToArray());
        }

        using var other = await _gateway.Client.GetAsync("/.well-known/oauth-protected-resource/other");
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    [Fact]
    public async Task NoCredential_401ChallengePointsAtTheMetadata()
    {
        using var response = await InitializeAsync(token: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"Bearer resource_metadata=\"{MetadataUrl}\"", response.Headers.WwwAuthenticate.ToString());
    }

    public static TheoryData<string> BadTokens() => ["api-audience", "expired", "bad-signature", "other-issuer"];

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task BadToken_401InvalidToken_AndNothingUpstream(string kind)
    {
        var token = kind switch
        {
            // A token for the gateway's REST API (the issuer's configured audience) is not a token for /mcp.
            "api-audience" => Token(c => c["aud"] = Jws.Audience),
            "expired" => Token(c =>
            {
                c["nbf"] = DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeSeconds();
                c["exp"] = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds();
            }),
            "bad-signature" => Token(key: _attacker),
            _ => Token(c => c["iss"] = "https://evil.example.test/"),
        };

        using var response = await InitializeAsync(token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal($"Bearer resource_metadata=\"{MetadataUrl}\", error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Empty(_upstream);
    }

    [Fact]
    public async Task TokenForThisResource_ListsAndCallsAsItsApplication_TokenNeverUpstream()
    {
        var token = Token();
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(_gateway.Url + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
        }));

        var tools = await client.ListToolsAsync();
        Assert.Contains(tools, t => t.Name == "users.getUser");
        var result = await client.CallToolAsync("users.getUser", new Dictionary<string, object?> { ["id"] = 7 });

        Assert.NotEqual(true, result.IsError);
        var text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        Assert.Equal("shop", (string?)JsonNode.Parse(text)!["application"]);
        var headers = Assert.Single(_upstream);
        Assert.False(headers.ContainsKey("Authorization"));
        Assert.DoesNotContain(headers, h => h.Value.ToString().Contains(token[..20], StringComparison.Ordinal));
    }

    [Fact]
    public async Task TokenWithoutTheOperationsScope_ToolNotListed_AndItsCallRefusedWithInsufficientScope_NothingUpstream()
    {
        // The tool call presents no token of its own: the scopes checked are those of the token shown for /mcp.
        var token = Token(c => c["scope"] = "mcp users:write");
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(_gateway.Url + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
        }));

        // tools/list shows what the token can call: not this tool.
        Assert.DoesNotContain(await client.ListToolsAsync(), t => t.Name == "users.getUser");

        // Called all the same (its name is known from elsewhere), it is refused.
        var result = await client.CallToolAsync("users.getUser", new Dictionary<string, object?> { ["id"] = 7 });

        Assert.True(result.IsError);
        var problem = JsonNode.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text)!;
        Assert.Equal("urn:gatehouse:problem:insufficient-scope", (string?)problem["type"]);
        Assert.Equal(403, (int?)problem["status"]);
        Assert.Empty(_upstream);
    }

    [Theory]
    [InlineData("mcp users:read", "")]
    [InlineData("mcp users:audit", "audit")]
    public async Task AnOperationOnTwoRoutesWithOtherScopes_IsListedForATokenOfEither_AndItsCallRunsOnTheRouteTheTokenMayCall(string scopes, string route)
    {
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(_gateway.Url + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + Token(c => c["scope"] = scopes) },
        }));

        // Listed as the route this token may call (the first one is the audit route), and called on that same route.
        var tool = Assert.Single(await client.ListToolsAsync(), t => t.Name == "users.getUser");
        var result = await client.CallToolAsync(tool.Name, new Dictionary<string, object?> { ["id"] = 7 });

        Assert.NotEqual(true, result.IsError);
        Assert.Equal("7", (string?)JsonNode.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text)!["id"]);
        Assert.Equal(route, Assert.Single(_upstream)["X-Route"].ToString());
    }

    [Fact]
    public async Task ACompositionRequiringScopes_IsAToolOnlyForATokenWithThem_AndItsCallIsRefusedWithout()
    {
        async Task<McpClient> ConnectAsync(string scopes) => await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(_gateway.Url + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + Token(c => c["scope"] = scopes) },
        }));

        await using (var without = await ConnectAsync("mcp users:read"))
        {
            var listed = await without.ListToolsAsync();
            Assert.Contains(listed, t => t.Name == "users.getUser");
            Assert.DoesNotContain(listed, t => t.Name == "compositions.card");
            var refused = await without.CallToolAsync("compositions.card", new Dictionary<string, object?> { ["id"] = 7 });
            Assert.True(refused.IsError);
            var problem = JsonNode.Parse(Assert.IsType<TextContentBlock>(Assert.Single(refused.Content)).Text)!;
            Assert.Equal("urn:gatehouse:problem:insufficient-scope", (string?)problem["type"]);
            Assert.Empty(_upstream);
        }

        await using var with = await ConnectAsync("mcp cards:read");
        Assert.Contains(await with.ListToolsAsync(), t => t.Name == "compositions.card");
        var result = await with.CallToolAsync("compositions.card", new Dictionary<string, object?> { ["id"] = 7 });

        Assert.NotEqual(true, result.IsError);
        var text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        Assert.Equal("7", (string?)JsonNode.Parse(text)!["user"]!["id"]);
        Assert.Single(_upstream);
    }

    [Fact]
    public void Config_McpAuthorizationWithoutIssuers_ErrorWithPathAndFix()
    {
        var result = Model.Loading.ConfigLoader.Load("""
            version: 1
            gateway:
              mcp: true
              mcpAuthorization: { resource: "https://mcp.example.test/mcp", authorizationServers: [ "https://x.test/" ] }
            """, Path.GetTempPath());

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == "gateway.mcpAuthorization" && e.Message.Contains("gateway.jwt.issuers", StringComparison.Ordinal));
    }
}
