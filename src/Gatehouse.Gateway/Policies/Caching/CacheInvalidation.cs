using Gatehouse.Gateway.Hosting;
using Gatehouse.Gateway.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Gateway.Policies.Caching;

/// <summary>
/// RFC 9111 §4.4: once a service has carried out an unsafe request (any method but GET, HEAD, OPTIONS and TRACE; a
/// 2xx or 3xx answer), what the cache holds for its target URI is out of date, and so is what it holds for the
/// <c>Location</c> and <c>Content-Location</c> of the answer when they are on the same host (a <c>POST /items</c>
/// answered with <c>Location: /items/7</c>). Answers are kept per route, and a write is usually a route of its own
/// (<c>PUT /items/{id}</c> beside a cached <c>GET /items/{id}</c>), so each of those paths is matched as a GET would be,
/// and the cached route it reaches drops every answer of that path (every query, variant and caller), as a purge by
/// route and path does: on every node at once with the shared Redis store.
/// Made once per snapshot, and only when a route has a cache; given only to the routes that take an unsafe method.
/// </summary>
internal sealed class CacheInvalidation
{
    private static readonly string[] LinkHeaders = [HeaderNames.Location, HeaderNames.ContentLocation];

    private RouteTable? _routes;

    /// <summary>The table the paths are matched in: the snapshot's own, set once it is built and before it is live.</summary>
    public void Attach(RouteTable routes) => _routes = routes;

    /// <summary>Whether a route with <paramref name="methods"/> (empty: every method) takes an unsafe method.</summary>
    public static bool TakesUnsafeMethod(string[] methods)
    {
        if (methods.Length == 0)
        {
            return true;
        }

        foreach (var method in methods)
        {
            if (IsUnsafe(method))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a request with <paramref name="method"/> answered <paramref name="status"/> by its service invalidates (§4.4: a non-error answer to an unsafe method).</summary>
    public static bool Applies(string method, int status) => status is >= 200 and < 400 && IsUnsafe(method);

    private static bool IsUnsafe(string method) =>
        !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method));

    /// <summary>
    /// Drops the cached answers of the request's path and of its answer's same-host <c>Location</c> and
    /// <c>Content-Location</c>. Awaited before the answer's body is sent, so that a client that has the answer and asks
    /// again is never served what was held before its change.
    /// </summary>
    public async Task InvalidateAsync(HttpContext context, bool fromTrustedProxy)
    {
        if (_routes is not { } routes)
        {
            return;
        }

        var request = context.Request;
        var path = request.Path.Value ?? "/";
        var done = new List<(string Route, string Path)>(3);
        await InvalidatePathAsync(routes, request, path, done).ConfigureAwait(false);

        var headers = context.Response.Headers;
        foreach (var name in LinkHeaders)
        {
            if (headers[name] is { Count: 1 } value && SameHostPath(value.ToString(), request, fromTrustedProxy) is { } other)
            {
                await InvalidatePathAsync(routes, request, other, done).ConfigureAwait(false);
            }
        }
    }

    private static ValueTask InvalidatePathAsync(RouteTable routes, HttpRequest request, string path, List<(string Route, string Path)> done)
    {
        var captures = default(RouteCaptures);
        var allowed = default(AllowedMethods);
        if (routes.Match(HttpMethods.Get, PathSafety.HostWithoutPort(request.Host.Value), path, out var route, ref captures, ref allowed, request) != MatchOutcome.Matched
            || route!.Policies?.Cache is not { } cache)
        {
            return ValueTask.CompletedTask;
        }

        if (done.Contains((route.Id, path)))
        {
            return ValueTask.CompletedTask;
        }

        done.Add((route.Id, path));
        return cache.InvalidateAsync(path);
    }

    /// <summary>
    /// The decoded path of a <c>Location</c> or <c>Content-Location</c> value (resolved against the request's path when
    /// relative) when it is on the request's host, or on the <c>X-Forwarded-Host</c> a trusted proxy sent, which is what
    /// services build their links with; null otherwise (another host must not be invalidated, §4.4), and for a path the
    /// gateway would refuse as ambiguous (an encoded <c>/</c>, <c>\</c> or NUL).
    /// </summary>
    internal static string? SameHostPath(string value, HttpRequest request, bool fromTrustedProxy)
    {
        Uri resolved;
        if (Uri.TryCreate(value, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https")
        {
            var host = absolute.Host;
            if (!host.AsSpan().Equals(PathSafety.HostWithoutPort(request.Host.Value), StringComparison.OrdinalIgnoreCase)
                && !(fromTrustedProxy && host.AsSpan().Equals(PathSafety.HostWithoutPort(request.Headers["X-Forwarded-Host"].ToString()), StringComparison.OrdinalIgnoreCase)))
            {
                return null;
            }

            resolved = absolute;
        }
        else
        {
            // Resolved against the target URI on a stand-in host: a network-path reference (//other/x) ends up on another one.
            const string Here = "gatehouse.invalid";
            if (!Uri.TryCreate(new Uri("http://" + Here + request.Path.ToUriComponent()), value, out var relative) || relative.Host != Here)
            {
                return null;
            }

            resolved = relative;
        }

        var encoded = resolved.AbsolutePath;
        if (encoded.Contains("%2F", StringComparison.OrdinalIgnoreCase) || encoded.Contains("%5C", StringComparison.OrdinalIgnoreCase)
            || encoded.Contains("%00", StringComparison.Ordinal))
        {
            return null;
        }

        return Uri.UnescapeDataString(encoded);
    }
}
