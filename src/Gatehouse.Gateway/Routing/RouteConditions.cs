using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Routing;

/// <summary>
/// A route's <c>match</c>: the headers and query parameters a request must carry, each with its exact value, for the
/// route to take it. Checked only for routes that have one, after the path, host and method matched.
/// </summary>
internal sealed class RouteConditions
{
    private readonly (string Name, string Value)[] _headers;
    private readonly (string Name, string Value)[] _query;

    private RouteConditions((string, string)[] headers, (string, string)[] query) => (_headers, _query) = (headers, query);

    /// <summary>The compiled form of <paramref name="match"/>; null when there is none.</summary>
    public static RouteConditions? From(RouteMatchConfig? match) => match is null
        ? null
        : new([.. match.Headers.Select(h => (h.Key, h.Value))], [.. match.Query.Select(q => (q.Key, q.Value))]);

    /// <summary>
    /// True when <paramref name="request"/> carries every header and query parameter with its value. For a CORS
    /// <paramref name="preflight"/>, a header holds when <c>Access-Control-Request-Headers</c> names it: the browser sends
    /// its value only with the actual request, which is matched again then.
    /// </summary>
    public bool Matches(HttpRequest? request, bool preflight = false)
    {
        if (request is null)
        {
            return false;
        }

        foreach (var (name, value) in _headers)
        {
            if (preflight ? !Names(request.Headers.AccessControlRequestHeaders, name) : !Has(request.Headers[name], value))
            {
                return false;
            }
        }

        foreach (var (name, value) in _query)
        {
            if (!Has(request.Query[name], value))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Names(Microsoft.Extensions.Primitives.StringValues lists, string name)
    {
        foreach (var list in lists)
        {
            foreach (var range in (list ?? "").AsSpan().Split(','))
            {
                if ((list ?? "").AsSpan(range).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool Has(Microsoft.Extensions.Primitives.StringValues values, string value)
    {
        foreach (var v in values)
        {
            if (string.Equals(v, value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
