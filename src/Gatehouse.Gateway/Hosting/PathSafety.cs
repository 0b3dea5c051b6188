using System.Buffers;

namespace Gatehouse.Gateway.Hosting;

/// <summary>
/// Rejects request paths that different servers decode differently. Kestrel decodes the path (except
/// <c>%2F</c>) and removes dot segments before the route decision; the gateway routes on that result and
/// re-encodes it for the upstream. An encoded slash or backslash would survive that as text and could be
/// read as a separator by an upstream, so such paths get 400 instead of a guess. So do paths that Kestrel could not
/// decode faithfully: an HTTP/2 <c>:path</c> that mixes raw non-ASCII characters with percent-encoding comes out of
/// its decoder with U+FFFD in place of the characters (HTTP/1.1 refuses raw non-ASCII in the target outright).
/// </summary>
internal static class PathSafety
{
    private static readonly SearchValues<string> Ambiguous = SearchValues.Create(["%2f", "%5c", "%00", "\\"], StringComparison.OrdinalIgnoreCase);

    public static bool IsUnambiguous(string rawTarget, string decodedPath)
    {
        var raw = rawTarget.AsSpan();
        var query = raw.IndexOf('?');
        if (query >= 0)
        {
            raw = raw[..query];
        }

        return raw.IndexOfAny(Ambiguous) < 0 && !decodedPath.Contains('\\')
            && (!decodedPath.Contains('\uFFFD', StringComparison.Ordinal) || raw.Contains('\uFFFD'));
    }

    /// <summary>The host of a Host header value without its port ("[::1]:80" → "[::1]").</summary>
    public static ReadOnlySpan<char> HostWithoutPort(string? host)
    {
        if (string.IsNullOrEmpty(host))
        {
            return [];
        }

        var span = host.AsSpan();
        if (span[0] == '[')
        {
            var close = span.IndexOf(']');
            return close < 0 ? span : span[..(close + 1)];
        }

        var colon = span.LastIndexOf(':');
        return colon < 0 ? span : span[..colon];
    }
}
