using System.Text;

namespace Gatehouse.Gateway.Tests.Infrastructure.Wire;

/// <summary>A request as the test reads the client's bytes, by the RFCs (not by the server under test).</summary>
internal sealed record ClientRequest(string Method, byte[] Path, byte[] Query, IReadOnlyList<(string Name, string Value)> Headers);

/// <summary>A request as it reached the upstream.</summary>
internal sealed record UpstreamRequest(string Method, string Target, IReadOnlyList<(string Name, string Value)> Headers);

/// <summary>
/// The differential wire test's oracle, written from the RFCs and the gateway's documented header rules
/// (docs/proxying.md), independently of the gateway's code: how to read the client's request, which of its headers may
/// reach a service, and what the upstream request target must be (the client's, canonically encoded).
/// </summary>
internal static class WireOracle
{
    private const string TChars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private const string PathChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@/%";

    // Hop-by-hop and gateway-managed names that a client header may never pass under (docs/proxying.md).
    private static readonly HashSet<string> Stripped = new(StringComparer.OrdinalIgnoreCase)
    {
        "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
        "host", "expect", "content-length", "forwarded", "x-request-id", "http2-settings",
        "x-http-method-override", "x-http-method", "x-method-override",
    };

    // Headers the gateway writes itself.
    private static readonly HashSet<string> GatewayOwn = new(StringComparer.OrdinalIgnoreCase)
    {
        "host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-id",
    };

    /// <summary>
    /// True when the HTTP/1.1 bytes hold more than one request: an empty line (CRLF or a bare LF, which RFC 9112 §2.2 lets
    /// a recipient read as a line end) ends the head before the bytes do, with more than line ends after it.
    /// </summary>
    public static bool EndsHeadEarly(byte[] http1)
    {
        var text = Lines(http1);
        var end = text.IndexOf("\n\n", StringComparison.Ordinal);
        return text[(end + 2)..].Trim('\r', '\n').Length > 0;
    }

    // The request with CRLF read as LF, without the empty lines a server ignores before a request line (RFC 9112 §2.2;
    // Kestrel also skips a bare CR there).
    private static string Lines(byte[] bytes) =>
        Encoding.Latin1.GetString(bytes).TrimStart('\r', '\n').Replace("\r\n", "\n", StringComparison.Ordinal);

    /// <summary>Reads HTTP/1.1 request bytes as RFC 9112 does (LF alone may end a line); null when they are malformed.</summary>
    public static ClientRequest? ReadHttp1(byte[] bytes)
    {
        var text = Lines(bytes);
        var head = text[..text.IndexOf("\n\n", StringComparison.Ordinal)];
        var lines = head.Split('\n');
        if (lines.Skip(1).Any(l => l.Contains('\r', StringComparison.Ordinal)) || lines[0].Split(' ')[0].Contains('\r', StringComparison.Ordinal))
        {
            return null; // a bare CR ending a field line (in the request target it is one more byte to encode)
        }

        // RFC 9112 §3 lets a recipient split the request line on runs of SP (Kestrel does).
        var parts = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 3 || parts[2] != "HTTP/1.1" || !IsToken(parts[0]) || !parts[1].StartsWith('/'))
        {
            return null;
        }

        var headers = new List<(string, string)>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                return null; // no name, a name that is not a token, whitespace before the colon, or obs-fold
            }

            headers.Add((line[..colon], line[(colon + 1)..].Trim(' ', '\t')));
        }

        var (path, query) = Split(Encoding.Latin1.GetBytes(parts[1]));
        return new ClientRequest(parts[0], path, query, headers);
    }

    /// <summary>Reads HTTP/2 fields as RFC 9113 does; null when they are malformed in a way that must never be forwarded.</summary>
    public static ClientRequest? ReadHttp2(WireCase c)
    {
        var method = Encoding.Latin1.GetString(c.Method);
        if (!IsToken(method) || c.Target.Length == 0 || c.Target[0] != '/')
        {
            return null;
        }

        var headers = new List<(string, string)> { ("host", "x") };
        foreach (var (name, value) in c.Headers)
        {
            var n = Encoding.Latin1.GetString(name);
            if (!IsToken(n) || n.Any(char.IsAsciiLetterUpper) || value.Any(b => b is (byte)'\r' or (byte)'\n' or 0))
            {
                return null;
            }

            headers.Add((n, Encoding.Latin1.GetString(value).Trim(' ', '\t')));
        }

        var (path, query) = Split(c.Target);
        return new ClientRequest(method, path, query, headers);
    }

    /// <summary>
    /// Parses the head the upstream received, strictly (CR LF line ends, token names, values of HTAB, SP and visible
    /// ASCII only); the error says what is wrong with it, or is null.
    /// </summary>
    public static UpstreamRequest? ReadUpstreamHead(string head, out string? error)
    {
        error = null;
        if (!head.EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            error = "the head does not end with an empty line";
            return null;
        }

        var lines = head[..^4].Split("\r\n");
        foreach (var line in lines)
        {
            if (line.Any(ch => ch is < ' ' and not '\t' or > '~'))
            {
                error = $"the line '{WireCase.Literal(Encoding.Latin1.GetBytes(line))}' has a byte outside HTAB, SP and visible ASCII";
                return null;
            }
        }

        var parts = lines[0].Split(' ');
        if (parts.Length != 3 || parts[2] != "HTTP/1.1" || !IsToken(parts[0]))
        {
            error = $"the request line '{lines[0]}' is not METHOD SP TARGET SP HTTP/1.1";
            return null;
        }

        var headers = new List<(string, string)>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                error = $"the header line '{line}' is not NAME: VALUE";
                return null;
            }

            headers.Add((line[..colon], line[(colon + 1)..].Trim(' ', '\t')));
        }

        return new UpstreamRequest(parts[0], parts[1], headers);
    }

    /// <summary>
    /// Checks that <paramref name="upstream"/> is <paramref name="client"/> forwarded: the same method; the target the
    /// client's, canonically encoded; the client's allowed headers with their values, plus the gateway's own, and
    /// nothing else. Returns what differs, or null.
    /// </summary>
    public static string? Compare(ClientRequest client, UpstreamRequest upstream)
    {
        if (upstream.Method != client.Method)
        {
            return $"method '{upstream.Method}', expected '{client.Method}'";
        }

        var (upPath, upQuery) = Split(Encoding.Latin1.GetBytes(upstream.Target));
        var pathText = Encoding.Latin1.GetString(upPath);
        if (pathText.Any(ch => !PathChars.Contains(ch, StringComparison.Ordinal)) || !PercentSignsEncodeBytes(pathText))
        {
            return $"the upstream path '{pathText}' is not in canonical form";
        }

        var expectedPath = RoutedPath(client.Path);
        if (!PercentDecode(upPath).AsSpan().SequenceEqual(expectedPath))
        {
            return $"the upstream path '{pathText}' decodes to {WireCase.Literal(PercentDecode(upPath))}, expected {WireCase.Literal(expectedPath)}";
        }

        var expectedQuery = CanonicalQuery(client.Query);
        if (Encoding.Latin1.GetString(upQuery) != expectedQuery)
        {
            return $"the upstream query '{Encoding.Latin1.GetString(upQuery)}', expected '{expectedQuery}'";
        }

        var hopByHop = client.Headers.Where(h => h.Name.Equals("connection", StringComparison.OrdinalIgnoreCase))
            .SelectMany(h => h.Value.Split(',', StringSplitOptions.TrimEntries)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var allowed = client.Headers.Where(h => MayForward(h.Name, hopByHop)).ToList();
        foreach (var (name, value) in upstream.Headers)
        {
            if (GatewayOwn.Contains(name))
            {
                continue;
            }

            if (name.Equals("content-length", StringComparison.OrdinalIgnoreCase) && value == "0")
            {
                continue; // HttpClient's framing of a body-less POST, PUT or PATCH
            }

            var match = allowed.FirstOrDefault(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
            if (match.Name is null)
            {
                return $"the upstream got header '{name}: {value}', which is neither one the client may send on nor the gateway's own";
            }

            if (match.Value != value)
            {
                return $"the upstream got '{name}: {value}', the client sent '{match.Value}'";
            }
        }

        foreach (var (name, _) in allowed)
        {
            if (!upstream.Headers.Any(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)))
            {
                return $"the client's header '{name}' did not reach the upstream";
            }
        }

        var forwardedFor = upstream.Headers.FirstOrDefault(h => h.Name.Equals("x-forwarded-for", StringComparison.OrdinalIgnoreCase)).Value;
        var forwardedHost = upstream.Headers.FirstOrDefault(h => h.Name.Equals("x-forwarded-host", StringComparison.OrdinalIgnoreCase)).Value;
        return forwardedFor != "127.0.0.1" || forwardedHost != "x"
            ? $"X-Forwarded-For '{forwardedFor}' and X-Forwarded-Host '{forwardedHost}', expected the gateway's own '127.0.0.1' and 'x'"
            : null;
    }

    private static bool MayForward(string name, HashSet<string> hopByHop) =>
        !name.Contains('_', StringComparison.Ordinal)
        && !Stripped.Contains(name)
        && !name.StartsWith("gatehouse-", StringComparison.OrdinalIgnoreCase)
        && !name.StartsWith("x-forwarded-", StringComparison.OrdinalIgnoreCase)
        && !hopByHop.Contains(name);

    /// <summary>The query in canonical form: every byte outside visible ASCII, and '#', as %XX; the rest as sent.</summary>
    public static string CanonicalQuery(byte[] query)
    {
        var sb = new StringBuilder();
        foreach (var b in query)
        {
            sb.Append(b is > 0x20 and < 0x7f and not (byte)'#' ? ((char)b).ToString() : $"%{b:X2}");
        }

        return sb.ToString();
    }

    private static (byte[] Path, byte[] Query) Split(byte[] target)
    {
        var q = Array.IndexOf(target, (byte)'?');
        return q < 0 ? (target, []) : (target[..q], target[q..]);
    }

    private static bool IsToken(string s) => s.Length > 0 && s.All(ch => TChars.Contains(ch, StringComparison.Ordinal));

    private static bool PercentSignsEncodeBytes(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '%' && (i + 2 >= s.Length || !char.IsAsciiHexDigit(s[i + 1]) || !char.IsAsciiHexDigit(s[i + 2])))
            {
                return false;
            }
        }

        return true;
    }

    private static byte[] PercentDecode(byte[] s)
    {
        var output = new List<byte>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '%' && i + 2 < s.Length && char.IsAsciiHexDigit((char)s[i + 1]) && char.IsAsciiHexDigit((char)s[i + 2]))
            {
                output.Add(Convert.ToByte(Encoding.ASCII.GetString(s, i + 1, 2), 16));
                i += 2;
            }
            else
            {
                output.Add(s[i]);
            }
        }

        return [.. output];
    }

    /// <summary>
    /// The path a route decision is made on, as docs/proxying.md defines it: the client's path decoded once (a
    /// percent-encoded sequence that is not UTF-8 stays as its text), dot segments removed (RFC 3986 §5.2.4), empty
    /// segments merged, a trailing slash kept.
    /// </summary>
    public static byte[] RoutedPath(byte[] raw)
    {
        var path = Encoding.Latin1.GetString(RemoveDotSegments(DecodeUtf8Sequences(raw)));
        var merged = new StringBuilder("/");
        foreach (var segment in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            merged.Append(segment).Append('/');
        }

        if (merged.Length > 1 && !path.EndsWith('/'))
        {
            merged.Length--;
        }

        return Encoding.Latin1.GetBytes(merged.ToString());
    }

    /// <summary>Percent-decodes, keeping as text each encoded byte that does not start a well-formed UTF-8 sequence of encoded bytes.</summary>
    private static byte[] DecodeUtf8Sequences(byte[] s)
    {
        var output = new List<byte>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (!IsEncoded(s, i))
            {
                output.Add(s[i]);
                continue;
            }

            var lead = Hex(s, i);
            if (lead < 0x80)
            {
                output.Add(lead);
                i += 2;
                continue;
            }

            var length = lead switch { >= 0xC2 and <= 0xDF => 2, >= 0xE0 and <= 0xEF => 3, >= 0xF0 and <= 0xF4 => 4, _ => 0 };
            var sequence = new List<byte> { lead };
            for (var k = 1; k < length && IsEncoded(s, i + (3 * k)); k++)
            {
                sequence.Add(Hex(s, i + (3 * k)));
            }

            var valid = length > 0 && sequence.Count == length && IsUtf8([.. sequence]);
            if (valid)
            {
                output.AddRange(sequence);
                i += (3 * length) - 1;
            }
            else
            {
                output.Add((byte)'%');
            }
        }

        return [.. output];
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static bool IsUtf8(byte[] bytes)
    {
        try
        {
            StrictUtf8.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static bool IsEncoded(byte[] s, int i) =>
        i + 2 < s.Length && s[i] == '%' && char.IsAsciiHexDigit((char)s[i + 1]) && char.IsAsciiHexDigit((char)s[i + 2]);

    private static byte Hex(byte[] s, int i) => Convert.ToByte(Encoding.ASCII.GetString(s, i + 1, 2), 16);

    /// <summary>RFC 3986 §5.2.4 on a decoded path.</summary>
    private static byte[] RemoveDotSegments(byte[] path)
    {
        var input = Encoding.Latin1.GetString(path);
        var output = new StringBuilder();
        while (input.Length > 0)
        {
            if (input.StartsWith("../", StringComparison.Ordinal)) { input = input[3..]; }
            else if (input.StartsWith("./", StringComparison.Ordinal)) { input = input[2..]; }
            else if (input.StartsWith("/./", StringComparison.Ordinal)) { input = input[2..]; }
            else if (input == "/.") { input = "/"; }
            else if (input.StartsWith("/../", StringComparison.Ordinal) || input == "/..")
            {
                input = input == "/.." ? "/" : input[3..];
                var last = output.ToString().LastIndexOf('/');
                output.Length = Math.Max(last, 0);
            }
            else if (input is "." or "..") { input = ""; }
            else
            {
                var next = input.IndexOf('/', 1);
                var segment = next < 0 ? input : input[..next];
                output.Append(segment);
                input = next < 0 ? "" : input[next..];
            }
        }

        return Encoding.Latin1.GetBytes(output.ToString());
    }
}
