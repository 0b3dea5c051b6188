using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// The MCP endpoint as an OAuth resource server (the MCP authorization spec, RFC 9728): it publishes its
/// protected-resource metadata at <c>/.well-known/oauth-protected-resource</c>, answers a request without a credential
/// with 401 and <c>WWW-Authenticate: Bearer resource_metadata="…"</c>, and accepts bearer JWTs of the issuers of
/// <c>gateway.jwt.issuers</c> whose audience is <see cref="Resource"/>, mapped to applications as JWTs are everywhere.
/// API keys keep working. The client's token is never sent upstream.
/// </summary>
public sealed record McpAuthorizationConfig
{
    /// <summary>
    /// The resource identifier: the MCP endpoint's public URL as clients reach it, e.g.
    /// <c>https://api.example.com/mcp</c>. Tokens must carry it in <c>aud</c>.
    /// </summary>
    [RequiredKey("the MCP endpoint's public URL, e.g. 'resource: https://api.example.com/mcp'")]
    [DocType("URL")]
    public required string Resource { get; init; }

    /// <summary>
    /// The authorization servers clients get tokens from (the metadata's <c>authorization_servers</c>); each must be the
    /// <c>issuer</c> of one of <c>gateway.jwt.issuers</c>, whose keys and algorithms check the tokens.
    /// </summary>
    [OneOrMany]
    [DocType("URL, or a list")]
    [DefaultText("the `issuer` of every `gateway.jwt.issuers` entry")]
    public IReadOnlyList<string> AuthorizationServers { get; init; } = [];

    /// <summary>The authorization servers to publish and accept: <see cref="AuthorizationServers"/>, or every issuer of <paramref name="jwt"/>.</summary>
    public IReadOnlyList<string> ServersOf(JwtConfig jwt) =>
        AuthorizationServers.Count > 0 ? AuthorizationServers : [.. jwt.Issuers.Values.Select(i => i.Issuer)];
}
