using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Model.Usage;

namespace Gatehouse.Model.Nodes;

/// <summary>
/// One usage upload of a hybrid data node, and one entry of its local journal: a sequence number (its idempotency key
/// with the node's id) and rollup rows as whole values, as JSON:
/// <c>{"sequence":N,"rows":[{"granularity":"minute","bucket":…,"application":…,"plan":…,"operation":…,"status":200,
/// "count":…,"bytesIn":…,"bytesOut":…,"latencySum":…,"steps":…,"histogram":"base64"}]}</c>.
/// </summary>
public sealed record UsageUpload(long Sequence, IReadOnlyList<UsageRow> Rows)
{
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

        return new JsonObject { ["sequence"] = Sequence, ["rows"] = rows }.ToJsonString();
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

            return new UsageUpload((long)root["sequence"]!, rows);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NullReferenceException or ArgumentException)
        {
            return null;
        }
    }
}
