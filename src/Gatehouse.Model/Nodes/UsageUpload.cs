using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Model.Usage;

namespace Gatehouse.Model.Nodes;

/// <summary>
/// One usage upload of a hybrid data node, and one entry of its local journal: a sequence number (its idempotency key
/// with the node's id) and rollup rows as whole values, as JSON:
/// <c>{"sequence":N,"rows":[{"granularity":"minute","bucket":…,"application":…,"plan":…,"operation":…,"status":200,
/// "count":…,"bytesIn":…,"bytesOut":…,"latencySum":…,"steps":…,"histogram":"base64"}],"models":[{"granularity":"minute",
/// "bucket":…,"application":…,"plan":…,"alias":…,"provider":…,"model":…,"calls":…,"promptTokens":…,"completionTokens":…,
/// "estimatedCalls":…,"costNanos":…}]}</c>. <c>models</c> (model-usage rows, issue 22) is left out when there are none, and
/// an upload without it (from a node before it) has none.
/// </summary>
public sealed record UsageUpload(long Sequence, IReadOnlyList<UsageRow> Rows, IReadOnlyList<AiUsageRow>? ModelRows = null)
{
    /// <summary>The model-usage rows (none when <see cref="ModelRows"/> is null).</summary>
    public IReadOnlyList<AiUsageRow> Models => ModelRows ?? [];

    /// <summary>The JSON text of this upload, on one line.</summary>
    public string ToJson()
    {
        var rows = new JsonArray();
        foreach (var row in Rows)
        {
            rows.Add(new JsonObject
            {
                ["granularity"] = row.Granularity.ToString().ToLowerInvariant(),
                ["bucket"] = row.Bucket,
                ["application"] = row.Key.Application,
                ["plan"] = row.Key.Plan,
                ["operation"] = row.Key.Operation,
                ["status"] = row.Key.Status,
                ["count"] = row.Count,
                ["bytesIn"] = row.BytesIn,
                ["bytesOut"] = row.BytesOut,
                ["latencySum"] = row.LatencySumMicros,
                ["steps"] = row.Steps,
                ["histogram"] = Convert.ToBase64String(row.Histogram.ToBytes()),
            });
        }

        var json = new JsonObject { ["sequence"] = Sequence, ["rows"] = rows };
        if (Models.Count > 0)
        {
            var models = new JsonArray();
            foreach (var row in Models)
            {
                models.Add(new JsonObject
                {
                    ["granularity"] = row.Granularity.ToString().ToLowerInvariant(),
                    ["bucket"] = row.Bucket,
                    ["application"] = row.Key.Application,
                    ["plan"] = row.Key.Plan,
                    ["alias"] = row.Key.Alias,
                    ["provider"] = row.Key.Provider,
                    ["model"] = row.Key.Model,
                    ["calls"] = row.Calls,
                    ["promptTokens"] = row.PromptTokens,
                    ["completionTokens"] = row.CompletionTokens,
                    ["estimatedCalls"] = row.EstimatedCalls,
                    ["costNanos"] = row.CostNanos,
                });
            }

            json["models"] = models;
        }

        return json.ToJsonString();
    }

    /// <summary>Reads an upload, with every row's node set to <paramref name="node"/>; null when the text is not one.</summary>
    public static UsageUpload? Parse(string text, string node)
    {
        try
        {
            var root = JsonNode.Parse(text)!.AsObject();
            var rows = new List<UsageRow>();
            foreach (var item in root["rows"]!.AsArray())
            {
                rows.Add(new UsageRow
                {
                    Granularity = Enum.Parse<UsageGranularity>((string)item!["granularity"]!, ignoreCase: true),
                    Bucket = (long)item["bucket"]!,
                    Node = node,
                    Key = new UsageKey((string)item["application"]!, (string)item["plan"]!, (string)item["operation"]!, (int)item["status"]!),
                    Count = (long)item["count"]!,
                    BytesIn = (long)item["bytesIn"]!,
                    BytesOut = (long)item["bytesOut"]!,
                    LatencySumMicros = (long)item["latencySum"]!,
                    Steps = (long)item["steps"]!,
                    Histogram = LatencyHistogram.FromBytes(Convert.FromBase64String((string)item["histogram"]!)),
                });
            }

            var models = new List<AiUsageRow>();
            foreach (var item in root["models"]?.AsArray() ?? [])
            {
                models.Add(new AiUsageRow
                {
                    Granularity = Enum.Parse<UsageGranularity>((string)item!["granularity"]!, ignoreCase: true),
                    Bucket = (long)item["bucket"]!,
                    Node = node,
                    Key = new AiUsageKey((string)item["application"]!, (string)item["plan"]!, (string)item["alias"]!, (string)item["provider"]!, (string)item["model"]!),
                    Calls = (long)item["calls"]!,
                    PromptTokens = (long)item["promptTokens"]!,
                    CompletionTokens = (long)item["completionTokens"]!,
                    EstimatedCalls = (long)item["estimatedCalls"]!,
                    CostNanos = (long)item["costNanos"]!,
                });
            }

            return new UsageUpload((long)root["sequence"]!, rows, models);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NullReferenceException or ArgumentException)
        {
            return null;
        }
    }
}
