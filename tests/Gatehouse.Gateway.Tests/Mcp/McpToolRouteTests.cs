using System.Text.Json;
using Gatehouse.Gateway.Tests.Access;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Gateway.Tests.Mcp;

/// <summary>
/// Issue 22: a tool call runs on its operation's route and no other. Beside <c>/users/{id}</c> (users.getUser, upstream
/// <c>/users/{id}</c>) the reader plan also has a literal <c>/users/me</c> (users.me, upstream <c>/me</c>), a route bound to
/// a host, a route with a header condition and a composition bound to a host, each with its own upstream path, so the
/// target the backend receives says which route served the call.
/// </summary>
public sealed class McpToolRouteTests
{
    private static Task<McpKit> StartAsync() => McpKit.StartAsync(yaml => yaml
        .Replace("""
                openapi: { file:
            """, """
                operations:
                  users.me:        { method: GET, path: /me, tags: [users] }
                  users.hosted:    { method: GET, path: "/internal/hosted/{id}", tags: [users] }
                  users.versioned: { method: GET, path: "/internal/versioned/{id}", tags: [users] }
                openapi: { file:
            """, StringComparison.Ordinal)
        .Replace("""
              get:    { operation: users.getUser }
            """, """
              get:    { operation: users.getUser }
              me:     { operation: users.me, path: /users/me }
              hosted: { operation: users.hosted, path: "/hosted/{id}", host: api.example.test }
              versioned: { operation: users.versioned, path: "/versioned/{id}", match: { headers: { X-Api-Version: "2" } } }
            """, StringComparison.Ordinal)
        .Replace("plans:\n", """
            compositions:
              card:
                path: "/card/{id}"
                host: api.example.test
                tags: [users]
                steps:
                  user: { operation: users.getUser, params: { id: "@request.path.id" } }
                response:
                  user: "@user.body"
            plans:

            """, StringComparison.Ordinal));

    [Theory]
    [InlineData("me")]
    [InlineData("ME")] // literal segments match in any case
    public async Task ToolsCall_ParameterSpellsAnotherRoutesLiteral_RunsTheToolsOwnOperation(string id)
    {
        await using var kit = await StartAsync();
        await using var client = await kit.ClientAsync("reader");

        var tools = await client.ListToolsAsync();
        var result = await client.CallToolAsync("users.getUser", new Dictionary<string, object?> { ["id"] = id });

        Assert.Contains(tools, t => t.Name == "users.me"); // the plan grants the other operation too: only the pin keeps them apart
        Assert.NotEqual(true, result.IsError);
        Assert.Equal(id, JsonDocument.Parse(((TextContentBlock)result.Content[0]).Text).RootElement.GetProperty("id").GetString());
        Assert.Equal([$"GET /users/{id}"], kit.Targets.ToArray());
    }

    [Fact]
    public async Task Request_FromOutside_StillFindsTheLiteralRoute()
    {
        await using var kit = await StartAsync();
        await using var client = await kit.ClientAsync("reader");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/users/me");
        request.Headers.Add(AccessKit.KeyHeader, kit.Keys["reader"].Plaintext);

        using var response = await kit.Gateway.Client.SendAsync(request);
        var viaTool = await client.CallToolAsync("users.me", new Dictionary<string, object?>());

        Assert.True(response.IsSuccessStatusCode);
        Assert.NotEqual(true, viaTool.IsError);
        Assert.Equal(["GET /me", "GET /me"], kit.Targets.ToArray());
    }

    [Fact]
    public async Task ToolsCall_RouteBoundToAHost_IsCalledThoughTheMcpRequestCameToAnother()
    {
        await using var kit = await StartAsync();
        await using var client = await kit.ClientAsync("reader");

        var result = await client.CallToolAsync("users.hosted", new Dictionary<string, object?> { ["id"] = 7 });

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(["GET /internal/hosted/7"], kit.Targets.ToArray());
    }

    [Fact]
    public async Task ToolsCall_RouteWithAHeaderCondition_IsCalledWithoutTheHeader()
    {
        await using var kit = await StartAsync();
        await using var client = await kit.ClientAsync("reader");

        var result = await client.CallToolAsync("users.versioned", new Dictionary<string, object?> { ["id"] = 7 });

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(["GET /internal/versioned/7"], kit.Targets.ToArray());
    }

    [Fact]
    public async Task ToolsCall_CompositionBoundToAHost_RunsItsSteps()
    {
        await using var kit = await StartAsync();
        await using var client = await kit.ClientAsync("reader");

        var result = await client.CallToolAsync("compositions.card", new Dictionary<string, object?> { ["id"] = 7 });

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(["GET /users/7"], kit.Targets.ToArray());
    }

    [Fact]
    public async Task Request_FromOutside_StillNeedsTheHostAndTheCondition()
    {
        await using var kit = await StartAsync();

        foreach (var path in new[] { "/hosted/7", "/versioned/7", "/card/7" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add(AccessKit.KeyHeader, kit.Keys["reader"].Plaintext);
            using var response = await kit.Gateway.Client.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
        }

        Assert.Empty(kit.Targets);
    }

    [Theory]
    [InlineData("../me")]
    [InlineData("a/../../me")]
    [InlineData("%2Fme")]
    [InlineData("me%2F")]
    [InlineData("me?x=1")]
    [InlineData("?x=1")]
    [InlineData("..")]
    [InlineData("me/")]
    public async Task ToolsCall_HostileArguments_CannotReachTheLiteralRoute(string id)
    {
        await using var kit = await StartAsync();
        await using var client = await kit.ClientAsync("reader");

        var result = await client.CallToolAsync("users.getUser", new Dictionary<string, object?> { ["id"] = id });

        // Refused, or sent to getUser's upstream path as exactly one segment that is the argument: never users.me's /me.
        foreach (var target in kit.Targets)
        {
            Assert.Matches(@"^GET /users/[^/?#\s]+$", target);
            Assert.Equal(id, Uri.UnescapeDataString(target["GET /users/".Length..]));
        }

        Assert.True(result.IsError == true || kit.Targets.Count == 1);
    }
}
