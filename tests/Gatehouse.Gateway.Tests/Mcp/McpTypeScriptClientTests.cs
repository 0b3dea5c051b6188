using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Authentication;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using ModelContextProtocol.Client;

namespace Gatehouse.Gateway.Tests.Mcp;

/// <summary>
/// Issue 22, "Oracles": the gateway's <c>/mcp</c> as the official TypeScript SDK's client sees it (npm
/// <c>@modelcontextprotocol/sdk</c>, in a Node.js child process), beside the C# SDK's client the other MCP tests use.
/// A real gateway on loopback with <c>mcpAuthorization</c> whose resource is its own <c>/mcp</c>, so the client can follow
/// the 401 challenge to the protected-resource metadata as the MCP authorization spec has it.
/// </summary>
[Trait("Issue", "22")]
public sealed partial class McpTypeScriptClientTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private readonly SigningKey _signing = SigningKey.Rsa("rsa-1");
    private readonly SigningKey _attacker = SigningKey.Rsa("rsa-1"); // same kid, another key
    private readonly Dictionary<string, TestKey> _keys = new[] { "retail", "wholesale", "nothing" }.ToDictionary(p => p, _ => TestKey.New());
    private readonly ConcurrentQueue<string> _targets = new();
    private TestBackend _backend = null!;
    private TestGateway _gateway = null!;

    private string McpUrl => _gateway.Url + "/mcp";

    public async Task InitializeAsync()
    {
        _backend = await TestBackend.StartAsync(async context =>
        {
            var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
            _targets.Enqueue(context.Request.Method + " " + raw);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new
            {
                id = context.Request.Path.Value!.Split('/').Last(),
                name = "Ada",
                application = context.Request.Headers["Gatehouse-Application"].ToString(),
            }));
        });
        _dir.Write("users.json", McpKit.OpenApi);
        _dir.Write("jwks.json", SigningKey.Jwks(_signing));
        // The resource is the gateway's own /mcp, known once it listens: started with a stand-in, then reloaded.
        _gateway = await TestGateway.StartAsync(Yaml("http://127.0.0.1:1/mcp"));
        var config = TestGateway.Parse(Yaml(McpUrl));
        config = config with { Gateway = config.Gateway with { Listeners = _gateway.Host.Runtime.Current.Config.Gateway.Listeners } };
        Assert.Empty(_gateway.Host.Runtime.Apply(config));
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _backend.DisposeAsync();
        _dir.Dispose();
        _signing.Dispose();
        _attacker.Dispose();
    }

    private string Yaml(string resource) => $$"""
        version: 1
        gateway:
          mcp: true
          mcpAuthorization: { resource: "{{resource}}" }
          jwt:
            issuers:
              login: { issuer: "{{Jws.Issuer}}", audiences: ["{{Jws.Audience}}"], jwksFile: "{{Path.Combine(_dir.Path, "jwks.json")}}", algorithms: [RS256] }
        services:
          users:
            targets: [{{_backend.Url}}]
            openapi: { file: "{{Path.Combine(_dir.Path, "users.json")}}" }
        routes:
          get:    { operation: users.getUser }
          delete: { operation: users.deleteUser }
          search: { operation: users.search }
          create: { operation: users.createUser }
        plans:
          retail:
            include: [ { tag: users, access: read } ]
          wholesale:
            include: [ { tag: users } ]
          nothing:
            include: [ { operation: users.getUser, access: write } ]
        accounts: { acme: {} }
        applications:
          retail-app:    { account: acme, plan: retail, keys: [ { sha256: "{{_keys["retail"].Sha256}}" } ], clientIds: [shop-app] }
          wholesale-app: { account: acme, plan: wholesale, keys: [ { sha256: "{{_keys["wholesale"].Sha256}}" } ] }
          nothing-app:   { account: acme, plan: nothing, keys: [ { sha256: "{{_keys["nothing"].Sha256}}" } ] }
        """;

    private string MetadataUrl => _gateway.Url + "/.well-known/oauth-protected-resource/mcp";

    private string Token(SigningKey? key = null)
    {
        var claims = Jws.Claims(DateTimeOffset.UtcNow);
        claims["aud"] = McpUrl;
        return Jws.Sign(key ?? _signing, claims);
    }

    private static JsonObject Call(JsonObject report, int index) => report["calls"]!.AsArray()[index]!.AsObject();

    [Fact]
    public async Task RetailKey_ListsExactlyTheGrantedReads_TheSameToolsTheCSharpClientGets()
    {
        var report = await TypeScriptMcpClient.RunAsync(McpUrl, TypeScriptMcpClient.Key(_keys["retail"].Plaintext));

        Assert.Equal(["users.getUser", "users.search"], TypeScriptMcpClient.ToolNames(report));
        Assert.Equal("gatehouse", (string?)report["server"]!["name"]);
        var tools = report["tools"]!.AsArray().Select(t => t!.AsObject()).ToList();
        Assert.All(tools, t => Assert.Matches(ToolName(), (string)t["name"]!));
        Assert.All(tools, t => Assert.True((bool?)t["annotations"]?["readOnlyHint"], $"{t["name"]} is not marked read-only"));
        Assert.All(tools, t => Assert.Equal("object", (string?)t["inputSchema"]!["type"]));

        await using var csharp = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(McpUrl),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { [AccessKit.KeyHeader] = _keys["retail"].Plaintext },
        }));
        var expected = await csharp.ListToolsAsync();
        Assert.Equal(expected.Select(t => t.Name).Order(StringComparer.Ordinal), TypeScriptMcpClient.ToolNames(report));
        foreach (var tool in expected)
        {
            // The same input schema reached both clients, whole (the TypeScript SDK parses it with its own schema).
            var seen = tools.Single(t => (string)t["name"]! == tool.Name)["inputSchema"];
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(tool.JsonSchema.GetRawText()), seen), $"{tool.Name}: C# {tool.JsonSchema.GetRawText()}, TypeScript {seen?.ToJsonString()}");
        }
    }

    [Fact]
    public async Task RetailKey_CallOfAReadTool_ReturnsTheUpstreamsData()
    {
        var report = await TypeScriptMcpClient.RunAsync(McpUrl, TypeScriptMcpClient.Key(_keys["retail"].Plaintext), ("users.getUser", new { id = 7 }));

        var call = Call(report, 0);
        Assert.True(call["error"] is null, "tools/call failed: " + call);
        var result = call["result"]!;
        Assert.NotEqual(true, (bool?)result["isError"]);
        var content = Assert.Single(result["content"]!.AsArray())!;
        Assert.Equal("text", (string?)content["type"]);
        var user = JsonNode.Parse((string)content["text"]!)!;
        Assert.Equal("7", (string?)user["id"]);
        Assert.Equal("Ada", (string?)user["name"]);
        Assert.Equal("retail-app", (string?)user["application"]);
        Assert.True(JsonNode.DeepEquals(user, result["structuredContent"]), "structuredContent is not the body: " + result);
        Assert.Equal(["GET /users/7"], _targets.ToArray());
    }

    [Fact]
    public async Task RetailKey_CallOfAWriteTool_ProtocolErrorInvalidParams_AndNothingUpstream()
    {
        // The write tools exist (another plan lists them) ...
        var wholesale = await TypeScriptMcpClient.RunAsync(McpUrl, TypeScriptMcpClient.Key(_keys["wholesale"].Plaintext));
        Assert.Equal(["users.createUser", "users.deleteUser", "users.getUser", "users.search"], TypeScriptMcpClient.ToolNames(wholesale));

        // ... but not for retail: tools/call answers a JSON-RPC error, -32602, which the SDK throws as McpError.
        var report = await TypeScriptMcpClient.RunAsync(McpUrl, TypeScriptMcpClient.Key(_keys["retail"].Plaintext),
            ("users.deleteUser", new { id = 1 }), ("users.createUser", new { body = new { name = "Eve" } }));

        foreach (var (call, name) in new[] { (Call(report, 0), "users.deleteUser"), (Call(report, 1), "users.createUser") })
        {
            Assert.True(call["result"] is null, $"{name} was run: {call}");
            Assert.Equal("McpError", (string?)call["error"]!["name"]);
            Assert.Equal(-32602, (int?)call["error"]!["code"]);
            Assert.Contains($"Unknown tool '{name}'", (string?)call["error"]!["message"]);
        }

        Assert.Empty(_targets);
    }

    [Fact]
    public async Task PlanThatGrantsNothing_EmptyList()
    {
        var report = await TypeScriptMcpClient.RunAsync(McpUrl, TypeScriptMcpClient.Key(_keys["nothing"].Plaintext));

        Assert.Empty(TypeScriptMcpClient.ToolNames(report));
    }

    [Fact]
    public async Task BadKey_401WithResourceMetadata_ThatTheSdkFollowsToThisResource()
    {
        var report = await TypeScriptMcpClient.RunAsync(McpUrl, TypeScriptMcpClient.Key("gh_not-a-key-of-anyone"));

        Assert.False((bool?)report["connected"], "connected with a bad key: " + report);
        Assert.Equal(401, (int?)report["error"]!["code"]);
        var refused = report["refused"]!;
        Assert.Equal(401, (int?)refused["status"]);
        Assert.Equal("application/problem+json", (string?)refused["contentType"]);
        Assert.Equal($"Bearer resource_metadata=\"{MetadataUrl}\"", (string?)refused["wwwAuthenticate"]);
        // As the SDK's auth code reads the challenge, then the metadata it points at:
        Assert.Equal(MetadataUrl, (string?)refused["resourceMetadataUrl"]);
        Assert.Null(refused["error"]);
        Assert.True(refused["discoveryError"] is null, "the SDK could not follow the challenge: " + refused);
        Assert.Equal(McpUrl, (string?)refused["resourceMetadata"]!["resource"]);
        Assert.Equal([Jws.Issuer], refused["resourceMetadata"]!["authorization_servers"]!.AsArray().Select(s => (string)s!).ToArray());
        Assert.Equal(McpUrl, (string?)refused["resource"]); // the SDK accepts it as the resource of the URL it called
        Assert.Empty(_targets);
    }

    [Fact]
    public async Task BadBearerToken_401InvalidToken()
    {
        var report = await TypeScriptMcpClient.RunAsync(McpUrl, TypeScriptMcpClient.Bearer(Token(_attacker)));

        Assert.False((bool?)report["connected"], "connected with a forged token: " + report);
        var refused = report["refused"]!;
        Assert.Equal(401, (int?)refused["status"]);
        Assert.Equal($"Bearer resource_metadata=\"{MetadataUrl}\", error=\"invalid_token\"", (string?)refused["wwwAuthenticate"]);
        Assert.Equal("invalid_token", (string?)refused["error"]);
        Assert.Equal(MetadataUrl, (string?)refused["resourceMetadataUrl"]);
    }

    [Fact]
    public async Task BearerTokenForThisResource_ListsAndCallsAsItsApplication()
    {
        var report = await TypeScriptMcpClient.RunAsync(McpUrl, TypeScriptMcpClient.Bearer(Token()), ("users.getUser", new { id = 3 }));

        Assert.Equal(["users.getUser", "users.search"], TypeScriptMcpClient.ToolNames(report));
        var call = Call(report, 0);
        Assert.True(call["error"] is null && (bool?)call["result"]!["isError"] != true, "tools/call failed: " + call);
        Assert.Equal("retail-app", (string?)call["result"]!["structuredContent"]!["application"]);
        Assert.Equal(["GET /users/3"], _targets.ToArray());
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex ToolName();
}
