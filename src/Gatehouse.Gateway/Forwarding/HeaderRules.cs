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
        "Host", "Expect", "Content-Length", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Prefix", "Forwarded", "X-Request-Id",
        // Connection-specific by definition (RFC 7540 §3.2.1) and only meaningful with an h2c upgrade, which is never forwarded.
        // Listed here because Kestrel rewrites "Connection: Upgrade, HTTP2-Settings" to "Upgrade", losing the token.
        "HTTP2-Settings",
        // HTTP/2 pseudo-headers never reach a HTTP/1.1 upstream as headers.
        ":method", ":path", ":scheme", ":authority", ":protocol",
        // Method overrides would let a plan's read grant carry a write to a service that honours them.
        "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
        // Path overrides (IIS, Symfony, Zend read them): a request routed, granted and cached for one path would be
        // served another (issue 23: cache poisoning through unkeyed headers).
        "X-Original-URL", "X-Rewrite-URL",
        // Set by the gateway alone, so services can trust them.
        "Gatehouse-Application", "Gatehouse-Plan");

    /// <summary>Hop-by-hop headers never copied from the upstream's response to the client.</summary>
    public static readonly FrozenSet<string> NotForwardedResponse = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "TE", "Trailer", "Transfer-Encoding", "Upgrade");

    /// <summary>Request headers that HttpClient keeps on the content rather than on the message.</summary>
    public static readonly FrozenSet<string> ContentHeaders = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "Content-Type", "Content-Encoding", "Content-Language", "Content-Location", "Content-MD5", "Content-Range",
        "Content-Disposition", "Expires", "Last-Modified", "Allow");

    // HTAB, SP and visible ASCII: what RFC 9110 §5.5 allows in a field value, less obs-text.
    private static readonly SearchValues<char> ValueChars = SearchValues.Create(
        "\t !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>
    /// True when a value can be written to the upstream wire as-is: only HTAB, SP and visible ASCII. SocketsHttpHandler
    /// writes values added with <c>TryAddWithoutValidation</c> verbatim, so CR, LF and NUL (header injection), the other
    /// CTLs and DEL (which some parsers read as line breaks; RFC 9110 §5.5 forbids them) must be stopped here. So must
    /// non-ASCII characters: its HTTP/1.1 writer cannot write them and fails the send, which must not look like the
    /// upstream's failure (issue 16, F2 and F4).
    /// </summary>
    public static bool IsSafeValue(string? value) => value is null || value.AsSpan().IndexOfAnyExcept(ValueChars) < 0;

    // RFC 9110 §5.6.2 tchar.
    private static readonly SearchValues<char> TokenChars = SearchValues.Create(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>True when <paramref name="value"/> is an HTTP token (a valid method or field name).</summary>
    public static bool IsToken(ReadOnlySpan<char> value) => !value.IsEmpty && value.IndexOfAnyExcept(TokenChars) < 0;

    /// <summary>Prefix of the headers the gateway sets for services (<c>Gatehouse-Application</c>, <c>Gatehouse-Plan</c>); a client may send none of them.</summary>
    public const string GatewayPrefix = "Gatehouse-";

    /// <summary>Prefix of the <c>X-Forwarded-*</c> family, which the gateway takes from trusted proxies only.</summary>
    public const string ForwardedPrefix = "X-Forwarded-";

    /// <summary>
    /// The name a CGI-style server (WSGI, PHP, Rack) would read for <paramref name="name"/>: they map <c>-</c> and
    /// <c>_</c> both to <c>_</c>, so <c>Gatehouse_Plan</c> reads as <c>Gatehouse-Plan</c>. Rules about which headers a
    /// client may send are checked against this name (issue 16, F3).
    /// </summary>
    public static string AsServersRead(string name) => name.Contains('_', StringComparison.Ordinal) ? name.Replace('_', '-') : name;

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
