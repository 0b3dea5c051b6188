using System.Collections.Frozen;
using Gatehouse.Model.Routing;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Routing;

/// <summary>
/// Matches method + host + path to a route. Built once per revision: a segment trie per host (exact hosts,
/// then <c>*.suffix</c> wildcards, then routes without a host). Literal segments beat parameters, which beat
/// a catch-all; the search backtracks so the first route that also accepts the method wins. Empty path
/// segments are ignored ("//a" matches "/a") and a trailing slash is insignificant.
/// </summary>
internal sealed class RouteTable
{
    private readonly FrozenDictionary<string, RouteNode> _exactHosts;
    private readonly FrozenDictionary<string, RouteNode>.AlternateLookup<ReadOnlySpan<char>> _exactHostLookup;
    private readonly (string Suffix, RouteNode Root)[] _wildcardHosts;
    private readonly RouteNode? _anyHost;
    private readonly FrozenDictionary<string, (PathTemplate Path, RouteModel Route)[]> _byOperation;

    private RouteTable(FrozenDictionary<string, RouteNode> exactHosts, (string, RouteNode)[] wildcardHosts, RouteNode? anyHost,
        FrozenDictionary<string, (PathTemplate, RouteModel)[]> byOperation)
    {
        _exactHosts = exactHosts;
        _exactHostLookup = exactHosts.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcardHosts = wildcardHosts;
        _anyHost = anyHost;
        _byOperation = byOperation;
    }

    public static RouteTable Build(IEnumerable<(PathTemplate Path, RouteModel Route)> routes)
    {
        var exact = new Dictionary<string, RouteNode.Builder>(StringComparer.OrdinalIgnoreCase);
        var wildcard = new Dictionary<string, RouteNode.Builder>(StringComparer.OrdinalIgnoreCase);
        RouteNode.Builder? any = null;
        var byOperation = new Dictionary<string, List<(PathTemplate, RouteModel)>>(StringComparer.Ordinal);
        foreach (var (path, route) in routes)
        {
            if (route.OperationId is { } operation)
            {
                if (!byOperation.TryGetValue(operation, out var served))
                {
                    byOperation[operation] = served = [];
                }

                served.Add((path, route));
            }

            RouteNode.Builder root;
            if (route.Host is null)
            {
                root = any ??= new RouteNode.Builder();
            }
            else if (route.Host.StartsWith("*.", StringComparison.Ordinal))
            {
                var suffix = route.Host[1..];
                if (!wildcard.TryGetValue(suffix, out root!))
                {
                    wildcard[suffix] = root = new RouteNode.Builder();
                }
            }
            else if (!exact.TryGetValue(route.Host, out root!))
            {
                exact[route.Host] = root = new RouteNode.Builder();
            }

            root.Add(path.Segments, 0, route);
        }

        return new RouteTable(
            exact.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.Build(), StringComparer.OrdinalIgnoreCase),
            [.. wildcard.OrderByDescending(kv => kv.Key.Length).Select(kv => (kv.Key, kv.Value.Build()))],
            any?.Build(),
            byOperation.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal));
    }

    /// <summary>
    /// Finds the route for a request. <paramref name="path"/> is the decoded, dot-segment-free request path.
    /// On <see cref="MatchOutcome.MethodNotAllowed"/>, <paramref name="allowed"/> lists the methods the path accepts.
    /// <paramref name="request"/> is what routes with match conditions read; without it, none of them matches. For a CORS
    /// <paramref name="preflight"/> (the route its actual request would reach), a header condition holds when the header
    /// is among those the browser says it will send (<c>Access-Control-Request-Headers</c>): a preflight carries no value.
    /// </summary>
    public MatchOutcome Match(string method, ReadOnlySpan<char> host, string path, out RouteModel? route, ref RouteCaptures captures, ref AllowedMethods allowed, HttpRequest? request = null, bool preflight = false)
    {
        route = null;
        if (_exactHosts.Count > 0 && _exactHostLookup.TryGetValue(host, out var root)
            && root.Match(method, request, preflight, path, 0, ref captures, ref allowed) is { } r1)
        {
            route = r1;
            return MatchOutcome.Matched;
        }

        foreach (var (suffix, wildcardRoot) in _wildcardHosts)
        {
            if (host.Length > suffix.Length && host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && wildcardRoot.Match(method, request, preflight, path, 0, ref captures, ref allowed) is { } r2)
            {
                route = r2;
                return MatchOutcome.Matched;
            }
        }

        if (_anyHost?.Match(method, request, preflight, path, 0, ref captures, ref allowed) is { } r3)
        {
            route = r3;
            return MatchOutcome.Matched;
        }

        return allowed.Any ? MatchOutcome.MethodNotAllowed : MatchOutcome.NoRoute;
    }

    /// <summary>
    /// Matches <paramref name="path"/> against the one route <paramref name="pin"/> names, whatever the host and the
    /// route's match conditions, since the caller chose the route itself; no other route is tried, so a path that another
    /// route would win (a literal beating the pinned route's parameter) still goes to the pinned one. NoRoute when the
    /// live revision has no such route, or the path does not fit its template.
    /// </summary>
    public MatchOutcome MatchPinned(RoutePin pin, string path, out RouteModel? route, ref RouteCaptures captures)
    {
        route = null;
        if (!_byOperation.TryGetValue(pin.OperationId, out var served))
        {
            return MatchOutcome.NoRoute;
        }

        foreach (var (template, candidate) in served)
        {
            if (string.Equals(template.Text, pin.Template, StringComparison.Ordinal) && candidate.AllowsMethod(pin.Method))
            {
                if (!Fits(template, path, ref captures))
                {
                    return MatchOutcome.NoRoute;
                }

                route = candidate;
                return MatchOutcome.Matched;
            }
        }

        return MatchOutcome.NoRoute;
    }

    /// <summary>The route <paramref name="pin"/> names in this revision, whatever the path; null when it has none.</summary>
    public RouteModel? Pinned(RoutePin pin)
    {
        if (_byOperation.TryGetValue(pin.OperationId, out var served))
        {
            foreach (var (template, candidate) in served)
            {
                if (string.Equals(template.Text, pin.Template, StringComparison.Ordinal) && candidate.AllowsMethod(pin.Method))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>Matches <paramref name="path"/> against one template with the trie's rules (<see cref="RouteNode"/>): empty segments skipped, literals in any case.</summary>
    private static bool Fits(PathTemplate template, string path, ref RouteCaptures captures)
    {
        var start = 0;
        foreach (var segment in template.Segments)
        {
            while (start < path.Length && path[start] == '/')
            {
                start++;
            }

            if (segment.Kind == SegmentKind.CatchAll)
            {
                captures.Push(new Range(start, path.Length));
                return true;
            }

            if (start >= path.Length)
            {
                return false;
            }

            var slash = path.IndexOf('/', start);
            var end = slash < 0 ? path.Length : slash;
            if (segment.Kind == SegmentKind.Literal)
            {
                if (!path.AsSpan(start, end - start).Equals(segment.Value, StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }
            }
            else
            {
                captures.Push(new Range(start, end));
            }

            start = end;
        }

        while (start < path.Length && path[start] == '/')
        {
            start++;
        }

        return start == path.Length;
    }
}

/// <summary>Methods collected while matching, for the <c>Allow</c> header of a 405.</summary>
internal struct AllowedMethods
{
    private List<string>? _methods;

    public readonly bool Any => _methods is { Count: > 0 };

    public void Add(string[] methods)
    {
        _methods ??= [];
        foreach (var m in methods)
        {
            if (!_methods.Contains(m))
            {
                _methods.Add(m);
            }

            if (ReferenceEquals(m, HttpMethods.Get) && !_methods.Contains(HttpMethods.Head))
            {
                _methods.Add(HttpMethods.Head);
            }
        }
    }

    public readonly string Header => _methods is null ? "" : string.Join(", ", _methods);
}
