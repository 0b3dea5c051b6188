// Also the response cache's purge (issue 23).
using System.Text.Json.Nodes;

namespace Gatehouse.Management.Admin;

// Usage analytics, the consumer usage report and /metrics (issue 19): docs/observability.md.
internal static partial class AdminOpenApi
{
    private static void AddAnalyticsPaths(JsonObject paths)
    {
        var query = (string name, string what) => Query(name, "string", what);
        paths["/admin/analytics"] = new JsonObject
        {
            ["get"] = Op("getAnalytics", "Usage analytics", "Analytics",
                "Series of count, errors (5xx), client errors (4xx), error rate, bytes, mean and p50/p95/p99 latency (ms), from the rollups every node flushes (gateway.observability.usage.flushInterval).",
                Responses(("200", Json("AnalyticsResult", "The series")), Ref("BadParameter"), Ref("NotFound")),
                parameters: new JsonArray(
                    query("from", "Start, RFC 3339 or Unix seconds (default: an hour before 'to')."),
                    query("to", "End, RFC 3339 or Unix seconds (default: now)."),
                    query("granularity", "minute, hour or day (default: chosen from the range)."),
                    query("groupBy", "Comma-separated: application, plan, operation, status, statusClass, node."),
                    query("application", "Only these applications (comma-separated); (none) stands for calls without one (anonymous, or refused before one was known)."),
                    query("plan", "Only these plans (comma-separated); (none) for calls without one."),
                    query("operation", "Only these operations (comma-separated); (none) for calls that matched no route."),
                    query("status", "Only these status codes (comma-separated, e.g. 200,404)."),
                    query("statusClass", "Only these classes (comma-separated): 2xx, 3xx, 4xx or 5xx."),
                    query("node", "Only these nodes (comma-separated)."),
                    Query("limit", "integer", "The most series, 1 to 1000; the rest add up under 'other'."))),
        };
        paths["/admin/analytics/ai"] = new JsonObject
        {
            ["get"] = Op("getAiAnalytics", "Model usage: tokens and cost", "Analytics",
                "Series of model calls, prompt, completion and total tokens, calls with estimated tokens, and cost at the answering provider model's configured price (in the prices' currency, and as an integer of nano-units), from the rollups every node flushes. The groups with the most tokens come first.",
                Responses(("200", Json("AiAnalyticsResult", "The series")), Ref("BadParameter"), Ref("NotFound")),
                parameters: new JsonArray(
                    query("from", "Start, RFC 3339 or Unix seconds (default: an hour before 'to')."),
                    query("to", "End, RFC 3339 or Unix seconds (default: now)."),
                    query("granularity", "minute, hour or day (default: chosen from the range)."),
                    query("groupBy", "Comma-separated: application, plan, alias, provider, model (the provider's model that answered), node."),
                    query("application", "Only these applications (comma-separated); (none) stands for calls without one."),
                    query("plan", "Only these plans; (none) for calls without one."),
                    query("alias", "Only these model aliases."),
                    query("provider", "Only these providers."),
                    query("model", "Only these provider models."),
                    query("node", "Only these nodes."),
                    Query("limit", "integer", "The most series, 1 to 1000; the rest add up under 'other'."))),
        };
        paths["/admin/applications/{name}/usage"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("name", "The application's name in the config, or the id (app-…) of one made in the developer portal.")),
            ["get"] = Op("getApplicationUsage", "An application's usage report", "Analytics",
                "Its calls per day and what is left of each limit of its plan (and of its plan's limits of single operations), as the consumer sees it in the portal.",
                Responses(("200", Json("UsageReport", "The report")), Ref("BadParameter"), Ref("NotFound")),
                parameters: new JsonArray(query("from", "First day, e.g. 2026-01-31 (default: 29 days before 'to')."), query("to", "Last day (default: today)."))),
        };
        paths["/admin/cache/purge"] = new JsonObject
        {
            ["post"] = Op("purgeCache", "Purge cached responses", "Cache",
                "Drops the cached responses of a route, or of one request path of it. With the cache in each node's memory, the node whose admin API takes the purge drops its own at once and records the purge in the store; the other nodes of the store drop theirs within a second (a control plane, with no cache of its own, only records it). With the shared cache (gateway.cache.redis) every node's go at once. 503 cache-store-down when Redis, or the store, did not take the purge; 503 no-gateway when there is neither a gateway nor a store here.",
                Responses(("200", Json("PurgeResult", "What was dropped")), Ref("BadParameter"), Ref("TooLarge")),
                body: Body("PurgeRequest", "The route, and optionally one request path")),
        };
        paths["/metrics"] = new JsonObject
        {
            ["get"] = Op("getMetrics", "Prometheus metrics", "Analytics",
                "This node's metrics in the Prometheus text exposition format (0.0.4); 404 when gateway.observability.metrics.enabled is false.",
                Responses(("200", new JsonObject
                {
                    ["description"] = "The metrics",
                    ["content"] = new JsonObject { ["text/plain"] = new JsonObject { ["schema"] = SchemaRef("PrometheusText") } },
                }), Ref("NotFound"))),
        };
    }

    private static IEnumerable<(string Name, JsonNode Schema)> AnalyticsSchemas()
    {
        var ms = (string what) => Nullable("number", what + " in milliseconds; null without requests");
        JsonObject Point(bool time) => time
            ? Object("One bucket.", ("time", Str(null, "date-time")), ("count", Int()), ("errors", Int("5xx answers")), ("clientErrors", Int("4xx answers")),
                ("errorRate", new JsonObject { ["type"] = "number" }), ("bytesIn", Int()), ("bytesOut", Int()), ("meanMs", ms("Mean latency")),
                ("p50Ms", ms("Median latency")), ("p95Ms", ms("95th percentile")), ("p99Ms", ms("99th percentile")))
            : Object("The whole range.", ("count", Int()), ("errors", Int("5xx answers")), ("clientErrors", Int("4xx answers")),
                ("errorRate", new JsonObject { ["type"] = "number" }), ("bytesIn", Int()), ("bytesOut", Int()), ("meanMs", ms("Mean latency")),
                ("p50Ms", ms("Median latency")), ("p95Ms", ms("95th percentile")), ("p99Ms", ms("99th percentile")));
        yield return ("AnalyticsResult", Object("Usage series.",
            ("from", Str(null, "date-time")), ("to", Str(null, "date-time")), ("granularity", Str("minute, hour or day")),
            ("groupBy", Array(Str())), ("truncated", Bool("More series than 'limit'; the rest are under other")),
            ("series", Array(Object("One group's series.",
                ("group", new JsonObject { ["type"] = "object", ["additionalProperties"] = new JsonObject { ["type"] = "string" } }),
                ("other", Bool("The sum of the groups past 'limit'")), ("total", Point(false)), ("points", Array(Point(true))))))));
        yield return ("UsageReport", Object("An application's usage and what is left of its limits.",
            ("application", Str()),
            ("days", Array(Object("One day.", ("day", Str(null, "date")), ("calls", Int()), ("clientErrors", Int()), ("errors", Int()), ("p95Ms", ms("95th percentile")),
                ("modelCalls", Int("Model calls a provider answered")), ("promptTokens", Int()), ("completionTokens", Int()), ("totalTokens", Int())))),
            ("limits", Array(Object("One limit of the plan.", ("name", Str()), ("period", Str()), ("quota", Bool("A quota (hour, day, month) rather than a rate")),
                ("shadow", Bool("Counted, not enforced")), ("limit", Int()), ("used", Int()), ("remaining", Int()), ("resetsAt", Str(null, "date-time")))))));
        JsonObject AiPoint(bool time)
        {
            var fields = new List<(string, JsonNode)>();
            if (time)
            {
                fields.Add(("time", Str(null, "date-time")));
            }

            fields.AddRange([
                ("calls", Int("Model calls a provider answered")), ("promptTokens", Int()), ("completionTokens", Int()), ("totalTokens", Int()),
                ("estimatedCalls", Int("Calls whose tokens the gateway estimated (the provider's usage never came)")),
                ("cost", new JsonObject { ["type"] = "number", ["description"] = "At the configured prices, in their currency; 0 for models without a price" }),
                ("costNanos", Int("The same cost in billionths of the currency: the exact integer the rollups add up"))]);
            return Object(time ? "One bucket." : "The whole range.", [.. fields]);
        }

        yield return ("AiAnalyticsResult", Object("Model usage series.",
            ("from", Str(null, "date-time")), ("to", Str(null, "date-time")), ("granularity", Str("minute, hour or day")),
            ("groupBy", Array(Str())), ("truncated", Bool("More series than 'limit'; the rest are under other")),
            ("series", Array(Object("One group's series.",
                ("group", new JsonObject { ["type"] = "object", ["additionalProperties"] = new JsonObject { ["type"] = "string" } }),
                ("other", Bool("The sum of the groups past 'limit'")), ("total", AiPoint(false)), ("points", Array(AiPoint(true))))))));
        var purgeRequest = Object("What to purge.", ("route", Str("The route's id, e.g. products-get")), ("path", Str("One request path of it, as clients send it (decoded), e.g. /products/3")));
        purgeRequest["required"] = new JsonArray("route");
        yield return ("PurgeRequest", purgeRequest);
        yield return ("PurgeResult", Object("What was purged.", ("route", Str()), ("path", Nullable("string", "The path, or null for the whole route")), ("purged", Nullable("integer", "Cached responses this node dropped; null when not counted: the shared cache, or a control plane (no cache of its own)"))));
        yield return ("PrometheusText", new JsonObject { ["type"] = "string", ["description"] = "The Prometheus text exposition format, version 0.0.4." });
    }
}
