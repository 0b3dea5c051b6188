using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using Gatehouse.Model.Routing;

namespace Gatehouse.Gateway.Routing;

/// <summary>
/// Builds the path sent upstream from a route's captures. Every captured value is percent-encoded as
/// (part of) one path segment, so a value can never add a segment, a dot segment, a query or a fragment:
/// the upstream, after decoding once, sees exactly the path the route decision was made on.
/// </summary>
internal sealed class UpstreamPathTemplate
{
    // Unreserved characters and the sub-delimiters that no common server treats specially inside a
    // segment. ';' is encoded: servlet containers strip ";params" from segments ("/..;/admin").
    private static readonly SearchValues<char> SafeChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@");

    private readonly Part[] _parts;

    private UpstreamPathTemplate(Part[] parts) => _parts = parts;

    /// <param name="template">The upstream path template.</param>
    /// <param name="routeParameters">The route's parameter names in capture order.</param>
    public static UpstreamPathTemplate Create(PathTemplate template, IReadOnlyList<string> routeParameters)
    {
        var parts = new List<Part>();
        foreach (var seg in template.Segments)
        {
            if (seg.Kind == SegmentKind.Literal)
            {
                parts.Add(new Part("/" + EncodeSegment(seg.Value), -1, false));
                continue;
            }

            var index = -1;
            for (var i = 0; i < routeParameters.Count; i++)
            {
                if (string.Equals(routeParameters[i], seg.Value, StringComparison.OrdinalIgnoreCase))
                {
                    index = i;
                }
            }

            if (index < 0)
            {
                throw new InvalidOperationException($"upstream parameter '{seg.Value}' is not captured by the route (validation should have caught this).");
            }

            parts.Add(new Part(null, index, seg.Kind == SegmentKind.CatchAll));
        }

        if (parts.Count == 0)
        {
            parts.Add(new Part("/", -1, false));
        }

        return new UpstreamPathTemplate([.. parts]);
    }

    /// <summary>
    /// Appends the upstream path for <paramref name="path"/> and its <paramref name="captures"/>; it always starts with
    /// <c>/</c>, also when a catch-all captured nothing (<c>/files/{**rest}</c> → <c>/{**rest}</c> for <c>/files</c>), as
    /// an HTTP/1.1 request target and an HTTP/2 <c>:path</c> must. A trailing slash on the client's path is kept: the route
    /// decision ignores it, but to many services <c>/a/</c> and <c>/a</c> differ, and one that redirects between them
    /// (Django's APPEND_SLASH) would otherwise send its clients round in a loop.
    /// </summary>
    public void AppendTo(ref DefaultInterpolatedStringHandler sb, string path, in RouteCaptures captures)
    {
        var endsWithSlash = AppendParts(ref sb, path, captures);
        if (endsWithSlash is null || (endsWithSlash == false && path.Length > 1 && path[^1] == '/'))
        {
            sb.AppendLiteral("/");
        }
    }

    /// <summary>Appends the parts; returns whether the last thing appended ends with a slash, or null when nothing was appended.</summary>
    private bool? AppendParts(ref DefaultInterpolatedStringHandler sb, string path, in RouteCaptures captures)
    {
        bool? endsWithSlash = null;
        foreach (var part in _parts)
        {
            if (part.Literal is not null)
            {
                sb.AppendLiteral(part.Literal);
                endsWithSlash = part.Literal.EndsWith('/');
                continue;
            }

            var value = path.AsSpan(captures[part.Capture]);
            if (!part.CatchAll)
            {
                sb.AppendLiteral("/");
                AppendEncoded(ref sb, value);
                endsWithSlash = value.IsEmpty;
                continue;
            }

            // A catch-all keeps its segment structure; empty segments were already collapsed by the matcher.
            foreach (var range in value.Split('/'))
            {
                var segment = value[range];
                if (segment.IsEmpty)
                {
                    continue;
                }

                sb.AppendLiteral("/");
                AppendEncoded(ref sb, segment);
                endsWithSlash = false;
            }
        }

        return endsWithSlash;
    }

    internal static string EncodeSegment(string value)
    {
        var sb = new DefaultInterpolatedStringHandler(0, 0);
        AppendEncoded(ref sb, value);
        return sb.ToStringAndClear();
    }

    private static void AppendEncoded(ref DefaultInterpolatedStringHandler sb, ReadOnlySpan<char> value)
    {
        // A segment that is only dots would be a dot segment upstream; encode its dots.
        if (value is "." or "..")
        {
            foreach (var _ in value)
            {
                sb.AppendLiteral("%2E");
            }

            return;
        }

        Span<byte> utf8 = stackalloc byte[4];
        while (!value.IsEmpty)
        {
            var unsafeAt = value.IndexOfAnyExcept(SafeChars);
            if (unsafeAt < 0)
            {
                sb.AppendFormatted(value);
                return;
            }

            sb.AppendFormatted(value[..unsafeAt]);
            var runeLength = char.IsHighSurrogate(value[unsafeAt]) && unsafeAt + 1 < value.Length ? 2 : 1;
            var written = Encoding.UTF8.GetBytes(value.Slice(unsafeAt, runeLength), utf8);
            for (var i = 0; i < written; i++)
            {
                sb.AppendLiteral("%");
                sb.AppendFormatted(utf8[i], "X2");
            }

            value = value[(unsafeAt + runeLength)..];
        }
    }

    private readonly record struct Part(string? Literal, int Capture, bool CatchAll);
}
