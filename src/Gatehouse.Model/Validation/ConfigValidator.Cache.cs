using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Model.Compositions;
using Gatehouse.Model.Config;

namespace Gatehouse.Model.Validation;

/// <summary>A cached route's response body template: it may write only the request values its cache key holds.</summary>
public static partial class ConfigValidator
{
    /// <summary>
    /// The cache keeps a reshaped body and serves it to every later request with the same key, so a request value the key
    /// does not hold would reach them as the first request's (its id, its headers; on a shared or per-plan cache, who
    /// asked). Each such reference is refused at its path in the template (<paramref name="at"/> is the route's policies;
    /// a service's default transform is reported at the route, naming the path). Header values are not checked: the
    /// gateway writes those taken from the request anew on every answer.
    /// </summary>
    private static void CheckCachedBody(string at, bool routesOwn, string path, JsonNode? node, CacheConfig cache, List<ConfigError> errors)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o)
                {
                    CheckCachedBody(at, routesOwn, $"{path}.{key}", value, cache, errors);
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    CheckCachedBody(at, routesOwn, $"{path}[{i}]", a[i], cache, errors);
                }

                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() is var text
                && ValueRef.IsReference(text) && ValueRef.TryParse(text, out _) is { Root: "request", Segments.Count: > 0 } r
                && Unkeyed(r, cache) is { } problem:
                errors.Add(new ConfigError(routesOwn ? $"{at}.{path}" : at, (routesOwn ? "" : $"in the service's default {path}: ")
                    + $"the cache keeps this route's reshaped body and serves it to later requests with the same key, and '{text}' {problem.Why}, "
                    + $"so a hit would carry the value of the request that filled the cache. {(problem.Fix is { } fix ? fix + ", write" : "Write")} it in a response header instead "
                    + "(transform.response.headers: values from the request are written anew on every answer, cached or not), or drop it."));
                break;
        }
    }

    /// <summary>
    /// A cached route's request transform: a request header it sends the service (into a header, the query or the path)
    /// decides the answer that is then served to every request with the same key, so a header the key does not hold
    /// would let one client choose what everyone gets (cache poisoning: Accept-Language copied into the query, the
    /// first request's language served to all). Each such reference is refused at its path. The request id is not: a
    /// service given it for its logs does not answer by it.
    /// </summary>
    private static void CheckCachedRequest(string at, bool routesOwn, RequestTransformConfig request, CacheConfig cache, List<ConfigError> errors)
    {
        var values = new List<(string Path, string Text)>();
        foreach (var (name, value) in request.Headers?.Set ?? new Dictionary<string, string>())
        {
            values.Add(($"transform.request.headers.set.{name}", value));
        }

        foreach (var (name, value) in request.Headers?.Add ?? new Dictionary<string, string>())
        {
            values.Add(($"transform.request.headers.add.{name}", value));
        }

        foreach (var (name, value) in request.Query?.Set ?? new Dictionary<string, string>())
        {
            values.Add(($"transform.request.query.set.{name}", value));
        }

        if (request.Path is { } template)
        {
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(template, @"\{(@[^{}]+)\}"))
            {
                values.Add(("transform.request.path", m.Groups[1].Value));
            }
        }

        foreach (var (path, text) in values)
        {
            if (ValueRef.IsReference(text) && ValueRef.TryParse(text, out _) is { Root: "request", Segments.Count: > 1 } r
                && r.Segments[0].Name == "headers" && Unkeyed(r, cache) is { } problem)
            {
                errors.Add(new ConfigError(routesOwn ? $"{at}.{path}" : at, (routesOwn ? "" : $"in the service's default {path}: ")
                    + $"the cache serves the service's answer to every later request with the same key, and '{text}' {problem.Why}, "
                    + $"so one client's header would choose the answer everyone gets. {problem.Fix}, or drop the value."));
            }
        }
    }

    /// <summary>Why the key does not hold the request value <paramref name="r"/>, and a fix besides moving it; null when the key holds it.</summary>
    private static (string Why, string? Fix)? Unkeyed(ValueRef r, CacheConfig cache) => r.Segments[0].Name switch
    {
        "id" => ("is new on every request", null),
        "headers" when r.Segments.Count > 1 && !cache.Headers.Contains(r.Segments[1].Name, StringComparer.OrdinalIgnoreCase) =>
            ("is not in the cache key", $"Add '{r.Segments[1].Name}' to the cache's 'headers' (each value then has answers of its own)"),
        "application" when cache.Shared || cache.Per == CacheScope.Plan =>
            ($"is not in the key of a {(cache.Shared ? "shared" : "per-plan")} cache", "Cache per application ('shared: false', 'per: application')"),
        "plan" when cache.Shared => ("is not in the key of a shared cache", "Cache per caller ('shared: false')"),
        _ => null, // path and query values are in the key, and an application's plan is its application's
    };
}
