using Gatehouse.Gateway.Access;

namespace Gatehouse.Gateway.Mcp;

/// <summary>
/// Who an MCP request is from, as <see cref="McpGate"/> authenticated it: the plan whose tools it sees, and the
/// credential header to present again on each tool call, so that the call is authenticated by the proxy's own steps.
/// </summary>
internal sealed record McpCaller(PlanModel Plan, string? CredentialHeader, string? CredentialValue);
