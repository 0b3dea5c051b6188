using System.Text.Json.Nodes;

namespace Gatehouse.Gateway.Mcp;

/// <summary>
/// Turns an OpenAPI 3.1 schema into one MCP clients accept: every <c>$ref</c> resolved in place (a recursive one cut
/// to <c>{"type":"object"}</c>), <c>allOf</c> merged, <c>anyOf</c>/<c>oneOf</c> removed (a nullable pair becomes its
/// non-null side; a real choice becomes "any value", described), and OpenAPI-only keywords dropped.
/// </summary>
internal static class McpSchema
{
    private const int MaxDepth = 24;

    private static readonly HashSet<string> Dropped = new(StringComparer.Ordinal) { "discriminator", "xml", "externalDocs", "example", "nullable", "$schema", "$id", "$anchor", "$defs" };

    public static JsonObject Resolve(JsonNode? schema, JsonObject document) => Resolve(schema, document, 0, []);

    private static JsonObject Resolve(JsonNode? schema, JsonObject document, int depth, List<string> stack)
    {
        if (schema is not JsonObject obj || depth > MaxDepth)
        {
            return schema is JsonValue v && v.TryGetValue<bool>(out var b) && !b ? new JsonObject { ["not"] = new JsonObject() } : [];
        }

        if (obj["$ref"] is JsonValue refValue && refValue.TryGetValue<string>(out var reference))
        {
            if (stack.Contains(reference) || Find(document, reference) is not JsonObject target)
            {
                return new JsonObject { ["type"] = "object" };
            }

            stack.Add(reference);
            var resolved = Resolve(target, document, depth + 1, stack);
            stack.RemoveAt(stack.Count - 1);
            // Siblings of $ref (3.1 allows them: a description, say) win over the target's.
            foreach (var (key, value) in obj)
            {
                if (key != "$ref" && !Dropped.Contains(key))
                {
                    resolved[key] = value?.DeepClone();
                }
            }

            return resolved;
        }

        var result = new JsonObject();
        foreach (var (key, value) in obj)
        {
            switch (key)
            {
                case var _ when Dropped.Contains(key):
                    break;
                case "properties" when value is JsonObject properties:
                    var resolvedProperties = new JsonObject();
                    foreach (var (name, property) in properties)
                    {
                        resolvedProperties[name] = Resolve(property, document, depth + 1, stack);
                    }

                    result["properties"] = resolvedProperties;
                    break;
                case "items" or "additionalProperties" or "not" when value is JsonObject:
                    result[key] = Resolve(value, document, depth + 1, stack);
                    break;
                case "type" when value is JsonArray types:
                    var named = types.Select(t => t?.GetValue<string>()).Where(t => t is not null && t != "null").ToList();
                    if (named.Count == 1)
                    {
                        result["type"] = named[0];
                    }
                    else if (named.Count > 1)
                    {
                        result["type"] = new JsonArray([.. named.Select(t => (JsonNode?)t)]);
                    }

                    break;
                case "allOf" when value is JsonArray all:
                    foreach (var part in all)
                    {
                        Merge(result, Resolve(part, document, depth + 1, stack));
                    }

                    break;
                case "anyOf" or "oneOf" when value is JsonArray choices:
                    var kept = choices.Where(c => !(c is JsonObject o && o["type"] is JsonValue t && t.TryGetValue<string>(out var s) && s == "null")).ToList();
                    if (kept.Count == 1)
                    {
                        Merge(result, Resolve(kept[0], document, depth + 1, stack));
                    }
                    else if (kept.Count > 1 && result["description"] is null && obj["description"] is null)
                    {
                        result["description"] = "One of several shapes; see the plan's API document.";
                    }

                    break;
                default:
                    result[key] = value?.DeepClone();
                    break;
            }
        }

        return result;
    }

    private static void Merge(JsonObject into, JsonObject from)
    {
        foreach (var (key, value) in from)
        {
            if (key == "properties" && value is JsonObject properties)
            {
                var target = into["properties"] as JsonObject ?? [];
                into["properties"] = target;
                foreach (var (name, property) in properties)
                {
                    target[name] = property?.DeepClone();
                }
            }
            else if (key == "required" && value is JsonArray required)
            {
                var target = into["required"] as JsonArray ?? [];
                into["required"] = target;
                foreach (var name in required)
                {
                    if (!target.Any(n => JsonNode.DeepEquals(n, name)))
                    {
                        target.Add(name?.DeepClone());
                    }
                }
            }
            else if (into[key] is null)
            {
                into[key] = value?.DeepClone();
            }
        }
    }

    /// <summary>A local JSON pointer (<c>#/components/schemas/User</c>) in <paramref name="document"/>.</summary>
    private static JsonNode? Find(JsonObject document, string reference)
    {
        if (!reference.StartsWith("#/", StringComparison.Ordinal))
        {
            return null;
        }

        JsonNode? node = document;
        foreach (var raw in reference[2..].Split('/'))
        {
            var part = raw.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            node = node is JsonObject o ? o[part] : null;
            if (node is null)
            {
                return null;
            }
        }

        return node;
    }
}
