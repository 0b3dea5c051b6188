using System.Text.Json.Nodes;

namespace Gatehouse.Management.Analytics;

/// <summary>The JSON of analytics answers (times RFC 3339 UTC, latencies in milliseconds, NaN written as null).</summary>
internal static class AnalyticsJson
{
    public static JsonObject Write(AnalyticsResult result) =>
        Envelope(result.Query, result.Truncated, result.Series, s => (s.Group, s.Other, Point(s.Total, withTime: false), s.Points.Select(p => Point(p, withTime: true))));

    public static JsonObject Write(AiAnalyticsResult result) =>
        Envelope(result.Query, result.Truncated, result.Series, s => (s.Group, s.Other, AiPoint(s.Total, withTime: false), s.Points.Select(p => AiPoint(p, withTime: true))));

    // The request and model-usage answers share this envelope; only their points differ.
    private static JsonObject Envelope<TSeries>(
        AnalyticsQuery query, bool truncated, IEnumerable<TSeries> series,
        Func<TSeries, (IReadOnlyDictionary<string, string> Group, bool Other, JsonObject Total, IEnumerable<JsonObject> Points)> parts) => new()
    {
        ["from"] = Time(query.From),
        ["to"] = Time(query.To),
        ["granularity"] = query.Granularity.ToString().ToLowerInvariant(),
        ["groupBy"] = new JsonArray([.. query.GroupBy.Select(g => (JsonNode?)g)]),
        ["truncated"] = truncated,
        ["series"] = new JsonArray([.. series.Select(parts).Select(s => (JsonNode?)new JsonObject
        {
            ["group"] = new JsonObject([.. s.Group.Select(g => KeyValuePair.Create(g.Key, (JsonNode?)g.Value))]),
            ["other"] = s.Other,
            ["total"] = s.Total,
            ["points"] = new JsonArray([.. s.Points.Select(p => (JsonNode?)p)]),
        })]),
    };

    public static JsonObject Write(ConsumerUsageReport report) => new()
    {
        ["application"] = report.Application,
        ["days"] = new JsonArray([.. report.Days.Select(d => (JsonNode?)new JsonObject
        {
            ["day"] = d.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            ["calls"] = d.Calls,
            ["clientErrors"] = d.ClientErrors,
            ["errors"] = d.Errors,
            ["p95Ms"] = Number(d.P95Ms),
            ["modelCalls"] = d.ModelCalls,
            ["promptTokens"] = d.PromptTokens,
            ["completionTokens"] = d.CompletionTokens,
            ["totalTokens"] = d.PromptTokens + d.CompletionTokens,
        })]),
        ["limits"] = new JsonArray([.. report.Limits.Select(l => (JsonNode?)new JsonObject
        {
            ["name"] = l.Name,
            ["period"] = l.Period,
            ["quota"] = l.Quota,
            ["shadow"] = l.Shadow,
            ["unit"] = l.Unit,
            ["model"] = l.Model,
            // A spend limit's figures as amounts of the currency (exact decimals), the others as counts.
            ["limit"] = l.Unit == "cost" ? JsonValue.Create(Model.Usage.AiCost.Units(l.Limit)) : JsonValue.Create(l.Limit),
            ["used"] = l.Unit == "cost" ? JsonValue.Create(Model.Usage.AiCost.Units(l.Used)) : JsonValue.Create(l.Used),
            ["remaining"] = l.Unit == "cost" ? JsonValue.Create(Model.Usage.AiCost.Units(l.Remaining)) : JsonValue.Create(l.Remaining),
            ["resetsAt"] = Time(l.ResetsAt),
        })]),
    };

    private static JsonObject Point(AnalyticsPoint p, bool withTime)
    {
        var o = new JsonObject();
        if (withTime)
        {
            o["time"] = Time(p.Time);
        }

        o["count"] = p.Count;
        o["errors"] = p.Errors;
        o["clientErrors"] = p.ClientErrors;
        o["errorRate"] = Math.Round(p.ErrorRate, 6);
        o["bytesIn"] = p.BytesIn;
        o["bytesOut"] = p.BytesOut;
        o["meanMs"] = Number(p.MeanMs);
        o["p50Ms"] = Number(p.P50Ms);
        o["p95Ms"] = Number(p.P95Ms);
        o["p99Ms"] = Number(p.P99Ms);
        return o;
    }

    // Cost twice: in units of the prices' currency (a decimal, exact) and as the integer of nano-units the store adds up.
    private static JsonObject AiPoint(AiAnalyticsPoint p, bool withTime)
    {
        var o = new JsonObject();
        if (withTime)
        {
            o["time"] = Time(p.Time);
        }

        o["calls"] = p.Calls;
        o["promptTokens"] = p.PromptTokens;
        o["completionTokens"] = p.CompletionTokens;
        o["totalTokens"] = p.TotalTokens;
        o["estimatedCalls"] = p.EstimatedCalls;
        o["cost"] = p.Cost;
        o["costNanos"] = p.CostNanos;
        return o;
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static JsonNode? Number(double value) => double.IsNaN(value) || double.IsInfinity(value) ? null : JsonValue.Create(Math.Round(value, 3));
}
