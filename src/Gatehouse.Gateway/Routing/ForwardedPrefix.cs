using Gatehouse.Model.Routing;

namespace Gatehouse.Gateway.Routing;

/// <summary>
/// The path prefix a route takes off before its service sees the path (<c>path: /api/orders/{**rest}</c> with
/// <c>upstreamPath: /{**rest}</c> takes off <c>/api/orders</c>), sent as <c>X-Forwarded-Prefix</c> so that the service
/// can write links clients can follow (ASP.NET Core's forwarded headers, Spring's <c>ForwardedHeaderFilter</c>).
/// </summary>
internal static class ForwardedPrefix
{
    /// <summary>
    /// The prefix, when the upstream template is the route template's tail and what comes before it is literal
    /// segments; null for any other rewrite (nothing was simply taken off), or for no rewrite at all.
    /// </summary>
    public static string? Of(PathTemplate route, PathTemplate upstream)
    {
        var removed = route.Segments.Count - upstream.Segments.Count;
        if (removed <= 0)
        {
            return null;
        }

        for (var i = 0; i < upstream.Segments.Count; i++)
        {
            if (upstream.Segments[i] != route.Segments[removed + i])
            {
                return null;
            }
        }

        var head = route.Segments.Take(removed).ToArray();
        if (head.Any(s => s.Kind != SegmentKind.Literal))
        {
            return null;
        }

        var prefix = "/" + string.Join('/', head.Select(s => s.Value));
        return prefix.All(c => c is > ' ' and < (char)0x7F) ? prefix : null;
    }
}
