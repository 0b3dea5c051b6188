using System.Buffers;
using System.Collections.Frozen;

namespace Gatehouse.Gateway.Forwarding;

/// <summary>Which headers cross the gateway, in either direction.</summary>
internal static class HeaderRules
{
    /// <summary>
    /// Hop-by-hop headers (RFC 9110 §7.6.1) and headers the gateway sets itself; never copied from the client
    /// to the upstream. Headers named in <c>Connection</c> are removed as well.
    /// </summary>
    public static readonly FrozenSet<string> NotForwardedRequest = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
        "Host", "Expect", "Content-Length", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "X-Request-Id",
        // Connection-specific by definition (RFC 7540 §3.2.1) and only meaningful with an h2c upgrade, which is never forwarded.
        // Listed here because Kestrel rewrites "Connection: Upgrade, HTTP2-Settings" to "Upgrade", losing the token.
        "HTTP2-Settings",
        // HTTP/2 pseudo-headers never reach a HTTP/1.1 upstream as headers.
        ":method", ":path", ":scheme", ":authority", ":protocol",
        // Method overrides would let a plan's read grant carry a write to a service that honours them.
        "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
        // Set by the gateway alone, so services can trust them.
        "Gatehouse-Application", "Gatehouse-Plan");

    /// <summary>Hop-by-hop headers never copied from the upstream's response to the client.</summary>
    public static readonly FrozenSet<string> NotForwardedResponse = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "TE", "Trailer", "Transfer-Encoding", "Upgrade");

    /// <summary>Request headers that HttpClient keeps on the content rather than on the message.</summary>
    public static readonly FrozenSet<string> ContentHeaders = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "Content-Type", "Content-Encoding", "Content-Language", "Content-Location", "Content-MD5", "Content-Range",
        "Content-Disposition", "Expires", "Last-Modified", "Allow");

    private static readonly SearchValues<char> ForbiddenValueChars = SearchValues.Create("\r\n\0");

    /// <summary>
    /// True when a value can be written to the upstream wire as-is. SocketsHttpHandler writes values added
    /// with <c>TryAddWithoutValidation</c> verbatim, so CR, LF and NUL must be stopped here.
    /// </summary>
    public static bool IsSafeValue(string? value) => value is null || value.AsSpan().IndexOfAny(ForbiddenValueChars) < 0;

    /// <summary>True when a client-supplied request id may be passed on: 1-128 visible ASCII characters.</summary>
    public static bool IsValidRequestId(string value)
    {
        if (value.Length is 0 or > 128)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}
