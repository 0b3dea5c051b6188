using System.Text.Json;
using Gatehouse.Model.Plans;

namespace Gatehouse.Gateway.Mcp;

/// <summary>One operation a plan grants, as an MCP tool: its name and schema, and how a call becomes a request.</summary>
/// <param name="Name">1–64 characters of <c>[A-Za-z0-9_.-]</c>, from the operation id.</param>
/// <param name="Operation">The public operation (method and path template) a call runs.</param>
/// <param name="PathParameters">Arguments that fill the path template.</param>
/// <param name="QueryParameters">Arguments sent in the query.</param>
/// <param name="BodyArgument">The argument holding the JSON body, or null when the operation takes none.</param>
internal sealed record McpTool(
    string Name,
    string Description,
    JsonElement InputSchema,
    PlanOperation Operation,
    IReadOnlyList<string> PathParameters,
    IReadOnlyList<string> QueryParameters,
    string? BodyArgument)
{
    /// <summary>The route a call runs on, and no other (<see cref="Routing.RoutePin"/>): the path only fills its parameters.</summary>
    public Routing.RoutePin Pin { get; } = new(Operation.Id, Operation.Method, Operation.Path);
}
