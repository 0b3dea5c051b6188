namespace Gatehouse.Gateway.Authentication;

/// <summary>
/// What an introspection answer that fits says of an active token: whose it is (<c>client_id</c>) and its
/// <c>scope</c> (space-separated, as RFC 7662 writes it; null when the answer has none). Cached with the verdict.
/// </summary>
internal sealed record IntrospectedToken(string ClientId, string? Scope);
