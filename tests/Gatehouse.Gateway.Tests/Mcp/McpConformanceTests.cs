using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Mcp;

/// <summary>
/// Issue 22, "Oracles": the official MCP conformance suite (npm <c>@modelcontextprotocol/conformance</c>, server mode)
/// run against the gateway's <c>/mcp</c>. Its server mode connects without a credential (it has no option for headers),
/// so the gateway here has an anonymous plan that grants the users service's reads.
/// </summary>
/// <remarks>
/// Only the scenarios that test the protocol itself are run (the whole active suite takes about a second here, and these
/// are all of it that passes). The suite's other server scenarios test the reference "everything server" of the SDKs:
/// they call fixed tools (<c>test_simple_text</c>, <c>test_image_content</c>, <c>test_reconnection</c>,
/// <c>json_schema_2020_12_tool</c>, …), prompts, resources, completion, sampling and elicitation, none of which a gateway
/// whose tools are its plans' operations has. <c>server-sse-multiple-streams</c> and <c>server-sse-polling</c> need a
/// session and only warn on a stateless server. <c>dns-rebinding-protection</c> (a non-localhost Host must get a 4xx) is
/// for local servers without authentication; the gateway serves public host names behind its keys and tokens.
/// </remarks>
[Trait("Issue", "22")]
public sealed class McpConformanceTests : IAsyncLifetime
{
    public const string Package = "@modelcontextprotocol/conformance";

    private readonly TempDirectory _dir = new();
    private TestBackend _backend = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _backend = await TestBackend.StartAsync(context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("""{"id":1,"name":"Ada"}""");
        });
        var openapi = _dir.Write("users.json", McpKit.OpenApi);
        _gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              mcp: true
            services:
              users:
                targets: [{{_backend.Url}}]
                openapi: { file: "{{openapi}}" }
            routes:
              get:    { operation: users.getUser }
              delete: { operation: users.deleteUser }
              search: { operation: users.search }
              create: { operation: users.createUser }
            plans:
              public:
                anonymous: true
                include: [ { tag: users, access: read } ]
            """);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _backend.DisposeAsync();
        _dir.Dispose();
    }

    [Theory]
    [InlineData("server-initialize")]
    [InlineData("logging-set-level")]
    [InlineData("ping")]
    [InlineData("tools-list")]
    public async Task Scenario_PassesEveryCheck(string scenario)
    {
        NodeTools.Require(Package);
        var node = NodeTools.Node(); // the Node.js 22 the suite needs
        var results = Path.Combine(_dir.Path, "results");

        var (code, stdout, stderr) = await NodeTools.RunAsync(node,
            [Path.Combine("node_modules", Package, "dist", "index.js"), "server", "--url", _gateway.Url + "/mcp", "--scenario", scenario, "-o", results],
            TimeSpan.FromSeconds(120));

        Assert.True(code == 0, $"conformance {scenario} exited with {code}:\n{stdout}\n{stderr}");
        var file = Assert.Single(Directory.GetFiles(results, "checks.json", SearchOption.AllDirectories));
        var checks = JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsArray();
        Assert.NotEmpty(checks);
        Assert.All(checks, check => Assert.True((string?)check!["status"] == "SUCCESS", $"{check!["id"]}: {check.ToJsonString()}"));
        if (scenario == "tools-list")
        {
            // The anonymous plan's tools, and only those.
            var tools = checks.Single(c => (string?)c!["id"] == "tools-list")!["details"]!["tools"]!.AsArray();
            Assert.Equal(["users.getUser", "users.search"], tools.Select(t => (string)t!).Order(StringComparer.Ordinal).ToArray());
        }
    }
}
