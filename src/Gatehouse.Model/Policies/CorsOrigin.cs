namespace Gatehouse.Model.Policies;

/// <summary>
/// One allowed CORS origin: exact (<c>https://app.example.com</c>), a subdomain pattern (<c>https://*.example.com</c>)
/// or <c>*</c>. Matching is by parts, never by substring, so <c>https://example.com.evil.com</c> and
/// <c>https://evilexample.com</c> match neither <c>https://example.com</c> nor <c>https://*.example.com</c>.
/// </summary>
public sealed class CorsOrigin
{
    private CorsOrigin(string scheme, string host, int port, bool subdomains, bool any)
    {
        (Scheme, Host, Port, Subdomains, Any) = (scheme, host, port, subdomains, any);
        if (!subdomains && !any)
        {
            // The one Origin value a browser sends for this entry (lower-case scheme and host, the port only when not the
            // scheme's default), kept only when reading it back gives this very entry: a request whose Origin is exactly
            // this string is allowed without parsing it (TryRead builds a Uri, about 0.3 us per request on the CORS path).
            var serialized = Scheme + "://" + (host.Contains(':', StringComparison.Ordinal) ? "[" + host + "]" : host)
                + (port == (scheme == "https" ? 443 : 80) ? "" : ":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Serialized = TryRead(serialized, out var back) && Matches(back) ? serialized : null;
        }
    }

    /// <summary><c>http</c> or <c>https</c>.</summary>
    public string Scheme { get; }

    /// <summary>Lower-case host; for a pattern, the domain after <c>*.</c>.</summary>
    public string Host { get; }

    /// <summary>The port, the scheme's default when none is written.</summary>
    public int Port { get; }

    /// <summary>A <c>*.</c> pattern: one or more labels before <see cref="Host"/>.</summary>
    public bool Subdomains { get; }

    /// <summary><c>*</c>: any origin.</summary>
    public bool Any { get; }

    /// <summary>For an exact origin, the <c>Origin</c> header value that is this origin and no other; null for a pattern or <c>*</c>.</summary>
    public string? Serialized { get; }

    /// <summary>Parses an origin as written in config; null and a sentence when it is not one.</summary>
    public static CorsOrigin? Parse(string text, out string? error)
    {
        error = null;
        if (text == "*")
        {
            return new CorsOrigin("", "", 0, false, true);
        }

        if (string.Equals(text, "null", StringComparison.OrdinalIgnoreCase))
        {
            error = "'null' is never allowed: sandboxed pages and local files send it, so allowing it allows everyone; list real origins.";
            return null;
        }

        var subdomains = false;
        var candidate = text;
        var star = text.IndexOf("://*.", StringComparison.Ordinal);
        if (star > 0)
        {
            subdomains = true;
            candidate = text.Remove(star + 3, 2);
        }

        if (candidate.Contains('*', StringComparison.Ordinal) || TryRead(candidate, out var origin) is false)
        {
            error = $"'{text}' is not an origin; write scheme://host[:port] with no path, e.g. 'https://app.example.com', a pattern such as 'https://*.example.com', or '*'.";
            return null;
        }

        return new CorsOrigin(origin.Scheme, origin.Host, origin.Port, subdomains, false);
    }

    /// <summary>Reads an <c>Origin</c> header's value; false when it is not a serialized http(s) origin.</summary>
    public static bool TryRead(string value, out (string Scheme, string Host, int Port) origin)
    {
        origin = default;
        if (value.Length is 0 or > 512 || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
            || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.AbsolutePath != "/" || value.EndsWith('/')
            || uri.HostNameType is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6))
        {
            return false;
        }

        // The serialization browsers send is lower-case scheme and host; anything else did not come from a browser.
        if (!string.Equals(value, uri.GetLeftPart(UriPartial.Authority), StringComparison.Ordinal)
            && !string.Equals(value, $"{uri.Scheme}://{uri.Authority}", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        origin = (uri.Scheme, uri.IdnHost.ToLowerInvariant(), uri.Port);
        return true;
    }

    /// <summary>Whether <paramref name="origin"/> (read by <see cref="TryRead"/>) is allowed by this entry.</summary>
    public bool Matches(in (string Scheme, string Host, int Port) origin)
    {
        if (Any)
        {
            return true;
        }

        if (origin.Port != Port || !string.Equals(origin.Scheme, Scheme, StringComparison.Ordinal))
        {
            return false;
        }

        if (!Subdomains)
        {
            return string.Equals(origin.Host, Host, StringComparison.Ordinal);
        }

        // "*.example.com": at least one whole label before ".example.com".
        return origin.Host.Length > Host.Length + 1
            && origin.Host.EndsWith(Host, StringComparison.Ordinal)
            && origin.Host[origin.Host.Length - Host.Length - 1] == '.';
    }
}
