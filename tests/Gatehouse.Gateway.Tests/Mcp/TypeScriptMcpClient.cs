using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Access;

namespace Gatehouse.Gateway.Tests.Mcp;

/// <summary>
/// The official TypeScript SDK's MCP client (npm <c>@modelcontextprotocol/sdk</c>, the version tests/tools locks), driven
/// by tests/tools/mcp-oracle.mjs in a Node.js child process: a second client, written by other people, for the gateway's
/// <c>/mcp</c>. It connects, lists the tools, makes the calls it is given and reports what it got as JSON.
/// </summary>
internal static class TypeScriptMcpClient
{
    public const string Package = "@modelcontextprotocol/sdk";

    /// <summary>Arguments for an API key in the gateway's key header.</summary>
    public static string[] Key(string key) => ["--key-header", AccessKit.KeyHeader, "--key", key];

    /// <summary>Arguments for <c>Authorization: Bearer TOKEN</c>.</summary>
    public static string[] Bearer(string token) => ["--bearer", token];

    /// <summary>
    /// Runs the client against <paramref name="url"/> with <paramref name="credential"/> and returns its report:
    /// <c>connected</c>, <c>tools</c>, <c>calls</c> (each a <c>result</c> or a protocol <c>error</c>), or, when refused,
    /// <c>error</c> and <c>refused</c> (the status and the WWW-Authenticate challenge as the SDK reads it).
    /// </summary>
    public static async Task<JsonObject> RunAsync(string url, string[] credential, params (string Tool, object Arguments)[] calls)
    {
        NodeTools.Require(Package);
        var arguments = new List<string> { "mcp-oracle.mjs", "--url", url };
        arguments.AddRange(credential);
        foreach (var (tool, args) in calls)
        {
            arguments.AddRange(["--call", tool, "--args", JsonSerializer.Serialize(args)]);
        }

        var (code, stdout, stderr) = await NodeTools.RunAsync(NodeTools.Node(), arguments, TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"mcp-oracle.mjs exited with {code}:\n{stdout}\n{stderr}");
        return JsonNode.Parse(stdout)?.AsObject() ?? throw new InvalidOperationException("mcp-oracle.mjs printed nothing:\n" + stderr);
    }

    /// <summary>The tool names in a report, sorted ordinally; fails with the report when the client could not list them.</summary>
    public static string[] ToolNames(JsonObject report)
    {
        Assert.True(report["connected"]?.GetValue<bool>() == true && report["listError"] is null, "the TypeScript client could not list the tools:\n" + report);
        return [.. report["tools"]!.AsArray().Select(t => (string)t!["name"]!).Order(StringComparer.Ordinal)];
    }
}
