using System.Text.Json;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Gateway.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Gateway.Mcp;

/// <summary>
/// The gateway's MCP endpoint (<c>/mcp</c>, Streamable HTTP, on the official C# SDK), on when the live config says
/// <c>gateway.mcp: true</c>. Stateless: every request is authenticated on its own by <see cref="McpGate"/>, so a key
/// that is revoked stops working at once, and nodes share no MCP sessions.
/// </summary>
internal static class McpEndpoint
{
    public const string Path = "/mcp";

    // The key under which WebApplication shares its route builder with branches (Microsoft.AspNetCore.Routing).
    private const string GlobalEndpointRouteBuilder = "__GlobalEndpointRouteBuilder";

    public static void AddServices(IServiceCollection services)
    {
        services.AddHttpContextAccessor();
        services.AddSingleton<McpToolCatalog>();
        services.AddSingleton<McpGate>();
        services.AddMcpServer(options =>
            {
                options.ServerInfo = new Implementation { Name = "gatehouse", Version = typeof(McpEndpoint).Assembly.GetName().Version?.ToString(3) ?? "0" };
            })
            .WithHttpTransport(options => options.Stateless = true)
            .WithListToolsHandler(async (request, ct) =>
            {
                var (runtime, caller, _) = Context(request.Services!);
                var snapshot = runtime.Current;
                var tools = await request.Services!.GetRequiredService<McpToolCatalog>().ToolsAsync(snapshot.Config, caller.Plan.Name).ConfigureAwait(false);
                return new ListToolsResult
                {
                    // Each tool as the route its call would run on (McpToolCatalog.RouteFor); one whose every route requires
                    // OAuth scopes that the caller's token lacks (or a caller with a key, which carries none) is left out:
                    // an agent is shown what it can call, as with its plan's grants.
                    Tools = [.. tools.Select(t => McpToolCatalog.RouteFor(t, snapshot.Routes, caller.Scopes)).OfType<McpTool>().Select(t => new Tool
                    {
                        Name = t.Name,
                        Description = t.Description,
                        InputSchema = t.InputSchema,
                        Annotations = new ToolAnnotations { ReadOnlyHint = t.Operation.Access == Model.Config.OperationAccess.Read },
                    })],
                };
            })
            .WithCallToolHandler(async (request, ct) =>
            {
                var (runtime, caller, http) = Context(request.Services!);
                var snapshot = runtime.Current;
                var name = request.Params?.Name ?? "";
                var tools = await request.Services!.GetRequiredService<McpToolCatalog>().ToolsAsync(snapshot.Config, caller.Plan.Name).ConfigureAwait(false);
                // Only the caller's plan's tools exist for it: a name from another plan is unknown, whatever it is.
                var variants = tools.FirstOrDefault(t => string.Equals(t[0].Name, name, StringComparison.Ordinal))
                    ?? throw new McpProtocolException($"Unknown tool '{name}': tools/list names the tools of your plan.", McpErrorCode.InvalidParams);
                // The route tools/list showed it on; a tool it was not shown (no route its token may call) runs on the
                // first, whose 403 insufficient-scope names the scopes to ask for.
                var tool = McpToolCatalog.RouteFor(variants, snapshot.Routes, caller.Scopes) ?? variants[0];
                var arguments = request.Params?.Arguments is { } given
                    ? given.ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal)
                    : new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                if (McpToolCall.BuildTarget(tool, arguments, out var error) is not { } target)
                {
                    return Error($"Invalid arguments: {error}");
                }

                JsonElement? body = tool.BodyArgument is { } bodyName && arguments.TryGetValue(bodyName, out var b) ? b : null;
                var outcome = await McpToolCall.RunAsync(request.Services!.GetRequiredService<GatewayRequestHandler>(), http, caller, tool, target, body, ct).ConfigureAwait(false);
                var result = new CallToolResult
                {
                    Content = [new TextContentBlock { Text = outcome.Body }],
                    // An upstream's (or the gateway's) refusal is the tool's result, with its problem details, not a protocol error.
                    IsError = outcome.Status >= 400,
                };
                if (outcome.IsJson && outcome.Status < 400 && outcome.Body.TrimStart().StartsWith('{'))
                {
                    result.StructuredContent = JsonSerializer.Deserialize<JsonElement>(outcome.Body);
                }

                return result;
            });
    }

    /// <summary>Maps the endpoint; it answers only while the live config has <c>gateway.mcp</c>, else requests go to the proxy.</summary>
    public static void Map(WebApplication app, GatewayRuntime runtime)
    {
        app.MapWhen(
            context => context.Request.Path.StartsWithSegments(Path) && runtime.Current.Config.Gateway.Mcp,
            branch =>
            {
                var gate = branch.ApplicationServices.GetRequiredService<McpGate>();
                branch.Use((context, next) => gate.InvokeAsync(context, next));
                // Routing private to this branch: with WebApplication's global route builder the MCP endpoints would be
                // the app's, and WebApplication would then put endpoint routing in front of every proxied request.
                branch.Properties.Remove(GlobalEndpointRouteBuilder);
                branch.UseRouting();
                branch.UseEndpoints(endpoints => endpoints.MapMcp(Path));
            });
    }

    private static CallToolResult Error(string text) => new() { Content = [new TextContentBlock { Text = text }], IsError = true };

    private static (GatewayRuntime Runtime, McpCaller Caller, HttpContext Http) Context(IServiceProvider services)
    {
        var http = services.GetRequiredService<IHttpContextAccessor>().HttpContext ?? throw new InvalidOperationException("An MCP request outside of an HTTP request.");
        var caller = http.Features.Get<McpCaller>() ?? throw new InvalidOperationException("An MCP request that the gate did not authenticate.");
        return (services.GetRequiredService<GatewayRuntime>(), caller, http);
    }
}
