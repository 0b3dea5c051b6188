using Gatehouse.Model.Compositions;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Policies;

/// <summary>
/// The values a policy reference reads from the request (<c>@request.path.NAME</c>, <c>.query.NAME</c>,
/// <c>.headers.NAME</c>, <c>.application</c>, <c>.plan</c>, <c>.id</c>), exactly as a composition's root resolver reads
/// them: the first value, or null when there is none.
/// </summary>
internal static class RequestValues
{
    public static string? Resolve(ValueRef reference, PolicyExchange exchange)
    {
        var request = exchange.Context.Request;
        switch (reference.Segments[0].Name)
        {
            case "path":
                var at = Array.IndexOf(exchange.Policies.Parameters, reference.Segments[1].Name);
                return at >= 0 && at < exchange.Captures.Count ? exchange.Path[exchange.Captures[at]] : null;
            case "query":
                return request.Query.TryGetValue(reference.Segments[1].Name, out var q) && q.Count > 0 ? q[0] : null;
            case "headers":
                return request.Headers.TryGetValue(reference.Segments[1].Name, out var h) && h.Count > 0 ? h[0] : null;
            case "application":
                return exchange.Admission.Application?.Id;
            case "plan":
                return exchange.Admission.Plan?.Name;
            default:
                return exchange.RequestId;
        }
    }

    /// <summary>The root resolver of a template evaluated in a policy: request values, and <c>@response</c> when given.</summary>
    public static ElementRootResolver Roots(PolicyExchange exchange, Func<string, ElementValue>? response) => (ValueRef r, out int consumed) =>
    {
        if (r.Root == "request")
        {
            consumed = r.Segments.Count;
            return Resolve(r, exchange) is { } text ? ElementValue.String(text) : ElementValue.Null;
        }

        consumed = 1;
        return response is null ? ElementValue.Null : response(r.Segments[0].Name);
    };
}

/// <summary>A compiled value: a literal, or a request reference.</summary>
internal readonly record struct PolicyValue(string? Literal, ValueRef? Reference)
{
    public static PolicyValue Compile(string text)
    {
        if (text.StartsWith("@@", StringComparison.Ordinal))
        {
            return new PolicyValue(text[1..], null);
        }

        // The validator has already compiled it with the composition language's compiler; a bad one never gets here.
        return ValueRef.IsReference(text) && ValueRef.TryParse(text, out _) is { } r ? new PolicyValue(null, r) : new PolicyValue(text, null);
    }

    public string? Resolve(PolicyExchange exchange) => Reference is null ? Literal : RequestValues.Resolve(Reference, exchange);
}
