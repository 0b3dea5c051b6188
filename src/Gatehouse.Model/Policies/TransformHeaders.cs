namespace Gatehouse.Model.Policies;

/// <summary>Which headers a transform may not touch, and why: the gateway sets, checks or strips them itself.</summary>
public static class TransformHeaders
{
    private static readonly string[] HopByHop =
        ["Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "HTTP2-Settings", "Content-Length"];

    private static readonly string[] RequestOwned =
        ["Host", "Expect", "Forwarded", "X-Request-Id", "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Original-URL", "X-Rewrite-URL"];

    private static readonly string[] Credentials = ["Authorization", "Proxy-Authorization", "Cookie"];

    private static readonly string[] ResponseOwned = ["X-Request-Id", "RateLimit", "RateLimit-Policy", "Retry-After", "Age", "Proxy-Authenticate"];

    /// <summary>
    /// Why a request transform may not <paramref name="action"/> (<c>set</c>, <c>add</c>, <c>remove</c>) header
    /// <paramref name="name"/>, or null when it may. <paramref name="keyHeader"/> is the API key header and
    /// <paramref name="serviceCredential"/> the service's credential header.
    /// </summary>
    public static string? RequestRefusal(string name, string action, string keyHeader, string? serviceCredential)
    {
        if (Is(name, HopByHop) || name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
        {
            return $"'{name}' belongs to the connection or the body, which the gateway forwards as the client sent it; a transform cannot {action} it.";
        }

        if (name.StartsWith("Gatehouse-", StringComparison.OrdinalIgnoreCase))
        {
            return $"'{name}' is set by the gateway alone, so services can trust it; a transform cannot {action} it.";
        }

        if (name.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase) || Is(name, RequestOwned))
        {
            return $"'{name}' is set or checked by the gateway itself (from trusted data only); a transform cannot {action} it.";
        }

        if (action != "remove" && (Is(name, Credentials) || string.Equals(name, keyHeader, StringComparison.OrdinalIgnoreCase)
            || string.Equals(name, serviceCredential, StringComparison.OrdinalIgnoreCase)))
        {
            return $"'{name}' carries a credential, which a transform may not add (it would put a secret in the config); give the service 'credential: {{ header, env }}' instead.";
        }

        if (action == "remove" && string.Equals(name, serviceCredential, StringComparison.OrdinalIgnoreCase))
        {
            return $"'{name}' carries the service's credential, which the gateway adds after every transform; remove 'credential' from the service instead.";
        }

        return null;
    }

    /// <summary>Why a response transform may not touch header <paramref name="name"/>, or null when it may.</summary>
    public static string? ResponseRefusal(string name, string action)
    {
        if (Is(name, HopByHop) || Is(name, ResponseOwned) || name.StartsWith("Gatehouse-", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase))
        {
            return $"'{name}' is set by the gateway itself (connection, request id, limits, cache or CORS); a transform cannot {action} it.";
        }

        return null;
    }

    /// <summary>True when a literal value can be written in a header: HTAB, SP and visible ASCII only.</summary>
    public static bool IsSafeValue(string value) => value.All(c => c == '\t' || (c >= ' ' && c <= '~'));

    private static bool Is(string name, string[] names) => names.Contains(name, StringComparer.OrdinalIgnoreCase);
}
