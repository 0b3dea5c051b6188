using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Model.Config;
using Gatehouse.Model.Plans;
using Gatehouse.Model.Routing;

namespace Gatehouse.Gateway.Mcp;

/// <summary>
/// The MCP tool list of each plan: <see cref="PlanProjection"/>'s operations (services' operations and compositions;
/// routes bound to no operation have no schema to offer), described by the plan's own OpenAPI document
/// (<see cref="PlanOpenApi"/>). Built once per loaded config and plan, so <c>tools/list</c> and <c>tools/call</c> read
/// the same list and cannot disagree.
/// <para>
/// An operation served on several routes is one tool with one variant per route, in the projection's order, each
/// described from its own route (its path parameters may differ). Routes may require different OAuth scopes, so which
/// route a caller's call runs on depends on its token: <see cref="RouteFor"/> picks it, the first route whose scopes the
/// caller carries, for both <c>tools/list</c> (which shows that variant, or leaves the tool out) and <c>tools/call</c>
/// (which runs on it), so a token is never shown a tool it would be refused, nor refused one it was shown.
/// </para>
/// </summary>
internal sealed class McpToolCatalog
{
    private readonly ConditionalWeakTable<GatehouseConfig, ConcurrentDictionary<string, Lazy<Task<McpTool[][]>>>> _byConfig = [];
    private readonly ConditionalWeakTable<GatehouseConfig, ConcurrentDictionary<string, Task<JsonObject?>>> _sources = [];

    /// <summary>The plan's tools, each as its variants (one per route of its operation, never empty), in the projection's order.</summary>
    public Task<McpTool[][]> ToolsAsync(GatehouseConfig config, string plan) =>
        _byConfig.GetValue(config, _ => new(StringComparer.Ordinal))
            .GetOrAdd(plan, p => new Lazy<Task<McpTool[][]>>(() => BuildAsync(config, p)))
            .Value;

    /// <summary>
    /// The variant of <paramref name="tool"/> whose route a caller with <paramref name="scopes"/> (its token's,
    /// space-separated; null for a credential that carries none) may call in <paramref name="routes"/>: the first whose
    /// route requires no scope it lacks. Null when there is none. A route a reload removed requires nothing here: its
    /// call answers 404 <c>no-route</c>, which tells the caller to list its tools again.
    /// </summary>
    public static McpTool? RouteFor(McpTool[] tool, Routing.RouteTable routes, string? scopes)
    {
        foreach (var variant in tool)
        {
            if (routes.Pinned(variant.Pin)?.Access?.Scopes?.FirstMissing(scopes) is null)
            {
                return variant;
            }
        }

        return null;
    }

    private async Task<McpTool[][]> BuildAsync(GatehouseConfig config, string plan)
    {
        var operations = PlanProjection.Of(plan, config).Where(o => o.Kind != PlanOperationKind.Route).ToList();
        var sources = _sources.GetValue(config, _ => new(StringComparer.Ordinal));
        var read = new Dictionary<string, JsonObject?>(StringComparer.Ordinal);
        foreach (var service in operations.Select(o => o.Service).OfType<string>().Distinct())
        {
            read[service] = await sources.GetOrAdd(service, s => PlanSources.ReadAsync(config.Services[s].Openapi, CancellationToken.None)).ConfigureAwait(false);
        }

        var document = PlanOpenApi.Build(config, plan, operations, s => read.GetValueOrDefault(s) is { } d ? (JsonObject)d.DeepClone() : null, "/");
        var tools = new Dictionary<string, List<McpTool>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var op in operations)
        {
            var name = ToolName(op.Id);
            if (!tools.TryGetValue(name, out var variants))
            {
                tools[name] = variants = [];
                order.Add(name);
            }

            // Two routes of one path and method (other hosts) are one pin: the route table finds the first of them.
            if (variants.Any(v => v.Operation.Method == op.Method && v.Operation.Path == op.Path))
            {
                continue;
            }

            var publicPath = op.Path.Replace("{**", "{", StringComparison.Ordinal).Replace("{*", "{", StringComparison.Ordinal);
            var described = document["paths"]?[publicPath]?[op.Method.ToLowerInvariant()] as JsonObject ?? [];
            variants.Add(Describe(name, op, described, document));
        }

        return [.. order.Select(n => tools[n].ToArray())];
    }

    private static McpTool Describe(string name, PlanOperation op, JsonObject operation, JsonObject document)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        var pathParameters = PathTemplate.TryParse(op.Path, out _)?.ParameterNames.ToList() ?? [];
        var query = new List<string>();
        foreach (var node in operation["parameters"] as JsonArray ?? [])
        {
            var parameter = McpSchema.Resolve(node, document);
            if (parameter["name"]?.GetValue<string>() is not { } parameterName || parameter["in"]?.GetValue<string>() is not { } location)
            {
                continue;
            }

            if (location == "query")
            {
                query.Add(parameterName);
            }
            else if (location != "path")
            {
                continue; // headers and cookies are the gateway's to set
            }

            var schema = McpSchema.Resolve(parameter["schema"], document);
            if (parameter["description"] is { } description && schema["description"] is null)
            {
                schema["description"] = description.DeepClone();
            }

            properties[parameterName] = schema;
            if (location == "path" || parameter["required"]?.GetValue<bool>() == true)
            {
                required.Add(parameterName);
            }
        }

        // Path parameters the document does not describe (a composition's, a route's own names) are strings.
        foreach (var parameterName in pathParameters.Where(p => properties[p] is null))
        {
            properties[parameterName] = new JsonObject { ["type"] = "string" };
            required.Add(parameterName);
        }

        string? body = null;
        if (operation["requestBody"] is JsonNode requestBodyNode && McpSchema.Resolve(requestBodyNode, document) is { } requestBody
            && requestBody["content"]?["application/json"]?["schema"] is { } bodySchema)
        {
            body = properties["body"] is null ? "body" : "requestBody";
            properties[body] = McpSchema.Resolve(bodySchema, document);
            if (requestBody["required"]?.GetValue<bool>() == true)
            {
                required.Add(body);
            }
        }

        var input = new JsonObject { ["type"] = "object", ["properties"] = properties };
        if (required.Count > 0)
        {
            input["required"] = required;
        }

        var summary = operation["summary"]?.GetValue<string>();
        var text = operation["description"]?.GetValue<string>();
        var descriptionText = string.Join("\n\n", new[] { summary, text }.Where(s => !string.IsNullOrWhiteSpace(s)));
        if (descriptionText.Length == 0)
        {
            descriptionText = $"{op.Method} {op.Path}";
        }

        return new McpTool(name, descriptionText, JsonSerializer.SerializeToElement(input), op, pathParameters, query, body);
    }

    /// <summary>
    /// The tool name of an operation id: characters outside <c>[A-Za-z0-9_.-]</c> become <c>_</c>, and an id longer than
    /// 64 is cut to 55 with a hash of the whole id, so names are stable and distinct.
    /// </summary>
    internal static string ToolName(string id)
    {
        var sb = new StringBuilder(id.Length);
        foreach (var c in id)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' ? c : '_');
        }

        var name = sb.Length == 0 ? "_" : sb.ToString();
        if (name.Length > 64)
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..8];
            name = name[..Math.Min(name.Length, 55)] + "_" + hash;
        }

        return name;
    }
}
