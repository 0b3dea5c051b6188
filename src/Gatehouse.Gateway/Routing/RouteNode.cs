using System.Collections.Frozen;
using Gatehouse.Model.Routing;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Routing;

/// <summary>One node of the segment trie. Immutable once built.</summary>
internal sealed class RouteNode
{
    private readonly FrozenDictionary<string, RouteNode> _literals;
    private readonly FrozenDictionary<string, RouteNode>.AlternateLookup<ReadOnlySpan<char>> _literalLookup;
    private readonly RouteNode? _parameter;
    private readonly RouteModel[] _endpoints;
    private readonly RouteModel[] _catchAll;

    private RouteNode(FrozenDictionary<string, RouteNode> literals, RouteNode? parameter, RouteModel[] endpoints, RouteModel[] catchAll)
    {
        _literals = literals;
        _literalLookup = literals.GetAlternateLookup<ReadOnlySpan<char>>();
        _parameter = parameter;
        _endpoints = endpoints;
        _catchAll = catchAll;
    }

    /// <summary>Matches the segments of <paramref name="path"/> from <paramref name="start"/> on.</summary>
    public RouteModel? Match(string method, HttpRequest? request, bool preflight, string path, int start, ref RouteCaptures captures, ref AllowedMethods allowed)
    {
        // Skip empty segments: "//a/" is "/a".
        while (start < path.Length && path[start] == '/')
        {
            start++;
        }

        if (start >= path.Length)
        {
            if (Pick(_endpoints, method, request, preflight, ref allowed) is { } end)
            {
                return end;
            }

            return MatchCatchAll(method, request, preflight, path, path.Length, ref captures, ref allowed);
        }

        var slash = path.IndexOf('/', start);
        var segmentEnd = slash < 0 ? path.Length : slash;
        var segment = path.AsSpan(start, segmentEnd - start);

        if (_literals.Count > 0 && _literalLookup.TryGetValue(segment, out var literal)
            && literal.Match(method, request, preflight, path, segmentEnd, ref captures, ref allowed) is { } viaLiteral)
        {
            return viaLiteral;
        }

        if (_parameter is not null && captures.Count < RouteCaptures.MaxParameters)
        {
            captures.Push(new Range(start, segmentEnd));
            if (_parameter.Match(method, request, preflight, path, segmentEnd, ref captures, ref allowed) is { } viaParameter)
            {
                return viaParameter;
            }

            captures.Pop();
        }

        return MatchCatchAll(method, request, preflight, path, start, ref captures, ref allowed);
    }

    private RouteModel? MatchCatchAll(string method, HttpRequest? request, bool preflight, string path, int start, ref RouteCaptures captures, ref AllowedMethods allowed)
    {
        if (_catchAll.Length == 0 || captures.Count >= RouteCaptures.MaxParameters)
        {
            return null;
        }

        var route = Pick(_catchAll, method, request, preflight, ref allowed);
        if (route is not null)
        {
            captures.Push(new Range(start, path.Length));
        }

        return route;
    }

    // A route with match conditions takes the request only when they hold, and only such routes' methods go in a 405's
    // Allow: a request that no route's conditions take is 404, whatever its method.
    private static RouteModel? Pick(RouteModel[] candidates, string method, HttpRequest? request, bool preflight, ref AllowedMethods allowed)
    {
        foreach (var route in candidates)
        {
            if (route.AllowsMethod(method) && (route.Conditions is null || route.Conditions.Matches(request, preflight)))
            {
                return route;
            }
        }

        foreach (var route in candidates)
        {
            if (route.Conditions is null || route.Conditions.Matches(request, preflight))
            {
                allowed.Add(route.Methods);
            }
        }

        return null;
    }

    internal sealed class Builder
    {
        private readonly Dictionary<string, Builder> _literals = new(StringComparer.OrdinalIgnoreCase);
        private readonly List<RouteModel> _endpoints = [];
        private readonly List<RouteModel> _catchAll = [];
        private Builder? _parameter;

        public void Add(IReadOnlyList<TemplateSegment> segments, int index, RouteModel route)
        {
            if (index == segments.Count)
            {
                _endpoints.Add(route);
                return;
            }

            var seg = segments[index];
            switch (seg.Kind)
            {
                case SegmentKind.Literal:
                    if (!_literals.TryGetValue(seg.Value, out var child))
                    {
                        _literals[seg.Value] = child = new Builder();
                    }

                    child.Add(segments, index + 1, route);
                    break;
                case SegmentKind.Parameter:
                    (_parameter ??= new Builder()).Add(segments, index + 1, route);
                    break;
                default:
                    _catchAll.Add(route);
                    break;
            }
        }

        // Routes with match conditions come first at the same place, in the order written, then those limited to methods,
        // then method-less ones: "GET /x" and "any /x" can coexist only if validation allowed it (it does not).
        public RouteNode Build() => new(
            _literals.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.Build(), StringComparer.OrdinalIgnoreCase),
            _parameter?.Build(),
            [.. _endpoints.OrderBy(r => r.Conditions is null).ThenBy(r => r.Methods.Length == 0)],
            [.. _catchAll.OrderBy(r => r.Conditions is null).ThenBy(r => r.Methods.Length == 0)]);
    }
}
