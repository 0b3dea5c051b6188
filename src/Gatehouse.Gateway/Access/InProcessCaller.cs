namespace Gatehouse.Gateway.Access;

/// <summary>
/// A request made inside the gateway on behalf of an application that was already authenticated by a bearer token for
/// another resource (an MCP tool call of a caller whose token was for <c>/mcp</c>): the proxy's access steps take the
/// application by its JWT client id from this feature instead of a credential, so the token itself is never presented
/// again, nor forwarded. Only code in the process can set a feature; nothing on the wire can. <paramref name="Scopes"/>
/// are that token's OAuth scopes, which an operation's <c>requireScopes</c> checks as it would the token's own.
/// </summary>
internal sealed record InProcessCaller(string ClientId, string? Scopes);
