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

    private RouteTable(FrozenDictionary<string, RouteNode> exactHosts, (string, RouteNode)[] wildcardHosts, RouteNode? anyHost)
    {
        _exactHosts = exactHosts;
        _exactHostLookup = exactHosts.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcardHosts = wildcardHosts;
        _anyHost = anyHost;
    }

    public static RouteTable Build(IEnumerable<(PathTemplate Path, RouteModel Route)> routes)
    {
        var exact = new Dictionary<string, RouteNode.Builder>(StringComparer.OrdinalIgnoreCase);
        var wildcard = new Dictionary<string, RouteNode.Builder>(StringComparer.OrdinalIgnoreCase);
        RouteNode.Builder? any = null;
        foreach (var (path, route) in routes)
        {
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
            any?.Build());
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
