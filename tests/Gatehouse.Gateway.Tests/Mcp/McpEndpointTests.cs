using System.Text.Json;
using System.Text.RegularExpressions;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Gateway.Tests.Mcp;

/// <summary>Issue 22: plans as MCP tool lists, checked with the official C# SDK's client.</summary>
public sealed partial class McpEndpointTests
{
    [Fact]
    public async Task ToolsList_ReaderPlan_ListsExactlyItsOperations()
    {
        await using var kit = await McpKit.StartAsync();
        await using var client = await kit.ClientAsync("reader");

        var tools = await client.ListToolsAsync();

        Assert.Equal(["users.getUser", "users.search"], tools.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray());
        var get = tools.Single(t => t.Name == "users.getUser");
        Assert.Equal("Get one user", get.Description);
        Assert.True(get.ProtocolTool.Annotations?.ReadOnlyHint);
        var search = tools.Single(t => t.Name == "users.search");
        Assert.Equal("Search users\n\nBy name.", search.Description);
        Assert.False(search.JsonSchema.GetProperty("properties").TryGetProperty("X-Trace", out _)); // headers are the gateway's
        Assert.All(tools, t => Assert.Matches(ToolName(), t.Name));
    }

    [Fact]
    public async Task ToolsList_WriterPlan_SchemasHaveNoRefsAnyOfOrOneOf()
    {
        await using var kit = await McpKit.StartAsync();
        await using var client = await kit.ClientAsync("writer");

        var tools = await client.ListToolsAsync();

        Assert.Equal(4, tools.Count);
        foreach (var tool in tools)
        {
            var json = tool.JsonSchema.GetRawText();
            Assert.DoesNotContain("$ref", json);
            Assert.DoesNotContain("anyOf", json);
            Assert.DoesNotContain("oneOf", json);
            Assert.DoesNotContain("allOf", json);
            Assert.Equal("object", tool.JsonSchema.GetProperty("type").GetString());
        }

        var create = tools.Single(t => t.Name == "users.createUser").JsonSchema;
        Assert.Equal(["body"], create.GetProperty("required").EnumerateArray().Select(e => e.GetString()!).ToArray());
        var body = create.GetProperty("properties").GetProperty("body");
        Assert.Equal("string", body.GetProperty("properties").GetProperty("address").GetProperty("properties").GetProperty("city").GetProperty("type").GetString());
        Assert.Equal("string", body.GetProperty("properties").GetProperty("nick").GetProperty("type").GetString());
        var team = body.GetProperty("properties").GetProperty("team").GetProperty("properties");
        Assert.True(team.TryGetProperty("city", out _) && team.TryGetProperty("floor", out _));
        var id = tools.Single(t => t.Name == "users.getUser").JsonSchema.GetProperty("properties").GetProperty("id");
        Assert.Equal("integer", id.GetProperty("type").GetString());
        Assert.Equal("The user's id.", id.GetProperty("description").GetString());
    }

    [Fact]
    public async Task ToolsList_PlanThatGrantsNothing_EmptyList()
    {
        await using var kit = await McpKit.StartAsync();
        await using var client = await kit.ClientAsync("nothing");

        Assert.Empty(await client.ListToolsAsync());
    }

    [Fact]
    public async Task ToolsCall_GetUser_RunsTheOperationUpstream()
    {
        await using var kit = await McpKit.StartAsync();
        await using var client = await kit.ClientAsync("reader");

        var result = await client.CallToolAsync("users.getUser", new Dictionary<string, object?> { ["id"] = 1 });

        Assert.NotEqual(true, result.IsError);
        var text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        Assert.Equal("1", JsonDocument.Parse(text).RootElement.GetProperty("id").GetString());
        Assert.Equal(["GET /users/1"], kit.Targets.ToArray());
    }

    [Fact]
    public async Task ToolsCall_BehindATrustedProxy_IsJudgedByTheAgentsAddress()
    {
        // The reader plan may only be called from 192.0.2.0/24; the test is the trusted proxy and names the agent's address.
        await using var kit = await McpKit.StartAsync(yaml => yaml
            .Replace("  mcp: true\n", "  mcp: true\n  trustedProxies: [127.0.0.1, \"::1\"]\n", StringComparison.Ordinal)
            .Replace("include: [ { tag: users, access: read } ]", "include: [ { tag: users, access: read } ]\n    ipFilter: { allow: [192.0.2.0/24] }", StringComparison.Ordinal));

        await using (var allowed = await kit.ClientAsync("reader", forwardedFor: "192.0.2.5"))
        {
            var result = await allowed.CallToolAsync("users.getUser", new Dictionary<string, object?> { ["id"] = 1 });
            Assert.NotEqual(true, result.IsError);
        }

        await using (var refused = await kit.ClientAsync("reader", forwardedFor: "203.0.113.9"))
        {
            var result = await refused.CallToolAsync("users.getUser", new Dictionary<string, object?> { ["id"] = 2 });
            Assert.True(result.IsError);
            Assert.Contains("ip-refused", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text, StringComparison.Ordinal);
        }

        Assert.Equal(["GET /users/1"], kit.Targets.ToArray());
    }

    [Fact]
    public async Task ToolsCall_QueryAndBody_AreSentAsTheOperationTakesThem()
    {
        await using var kit = await McpKit.StartAsync();
        await using var client = await kit.ClientAsync("writer");

        await client.CallToolAsync("users.search", new Dictionary<string, object?> { ["q"] = "a&b=c" });
        var created = await client.CallToolAsync("users.createUser", new Dictionary<string, object?> { ["body"] = new { name = "Ada" } });

        Assert.NotEqual(true, created.IsError);
        Assert.Equal(["GET /users?q=a%26b%3Dc", "POST /users"], kit.Targets.ToArray());
        Assert.Contains("Ada", ((TextContentBlock)created.Content[0]).Text);
    }

    [Theory]
    [InlineData("../admin")]
    [InlineData("1?x=2")]
    [InlineData("1\r\nX-Injected: yes")]
    [InlineData("..")]
    [InlineData("1/../../admin")]
    public async Task ToolsCall_HostileArguments_CannotChangeTheOperationOrPath(string id)
    {
        await using var kit = await McpKit.StartAsync();
        await using var client = await kit.ClientAsync("reader");

        var result = await client.CallToolAsync("users.getUser", new Dictionary<string, object?> { ["id"] = id });

        // Either refused, or sent as exactly one segment under /users/ with nothing else in the target.
        foreach (var target in kit.Targets)
        {
            Assert.Matches(@"^GET /users/[^/?#\s]+$", target);
            Assert.Equal(id, Uri.UnescapeDataString(target["GET /users/".Length..]));
        }

        Assert.True(result.IsError == true || kit.Targets.Count == 1);
    }

    [Fact]
    public async Task ToolsCall_Upstream404_IsErrorResultWithProblemDetails()
    {
        await using var kit = await McpKit.StartAsync();
        await using var client = await kit.ClientAsync("reader");

        var result = await client.CallToolAsync("users.getUser", new Dictionary<string, object?> { ["id"] = 404 });

        Assert.True(result.IsError);
        Assert.Contains("There is no user with id 404.", ((TextContentBlock)result.Content[0]).Text);
    }

    [Fact]
    public async Task ToolsCall_ToolOutsideThePlan_ProtocolErrorAndNoUpstreamCall()
    {
        await using var kit = await McpKit.StartAsync();
        await using var client = await kit.ClientAsync("reader");

        await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("users.deleteUser", new Dictionary<string, object?> { ["id"] = 1 }).AsTask());
        await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("../users.deleteUser", new Dictionary<string, object?> { ["id"] = 1 }).AsTask());

        Assert.Empty(kit.Targets);
    }

    [Fact]
    public async Task ToolsCall_PlanLimits_CountToolCallsLikeRequests()
    {
        await using var kit = await McpKit.StartAsync();
        await using var client = await kit.ClientAsync("writer");

        var results = new List<CallToolResult>();
        for (var i = 0; i < 4; i++)
        {
            results.Add(await client.CallToolAsync("users.getUser", new Dictionary<string, object?> { ["id"] = i + 1 }));
        }

        Assert.Equal([false, false, false, true], results.Select(r => r.IsError == true).ToArray());
        Assert.Contains("429", ((TextContentBlock)results[3].Content[0]).Text);
        Assert.Equal(3, kit.Targets.Count);
    }

    [Fact]
    public async Task Connect_WithoutKey_Refused401()
    {
        await using var kit = await McpKit.StartAsync();

        var e = await Assert.ThrowsAnyAsync<Exception>(() => kit.ClientAsync(null));

        Assert.Contains("401", e.ToString());
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex ToolName();
}
