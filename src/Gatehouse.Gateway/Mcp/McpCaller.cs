using Gatehouse.Gateway.Access;

namespace Gatehouse.Gateway.Mcp;

/// <summary>
/// Who an MCP request is from, as <see cref="McpGate"/> authenticated it: the plan whose tools it sees, and the
/// credential header to present again on each tool call, so that the call is authenticated by the proxy's own steps; or,
/// for a bearer token of the MCP resource (<c>gateway.mcpAuthorization</c>), the application's JWT client id, which tool
/// calls carry as an <see cref="InProcessCaller"/> instead of the token.
/// </summary>
internal sealed record McpCaller(PlanModel Plan, string? CredentialHeader, string? CredentialValue, string? ClientId = null, string? Scopes = null);
