using System.Text.Json.Nodes;

namespace Gatehouse.Model.Operations;

/// <summary>
/// Reads an operation's parameters, request body and response schemas out of the raw OpenAPI tree, and converts each
/// schema to a self-contained JSON Schema 2020-12 document. Hand-written over the JSON tree rather than taken from
/// Microsoft.OpenApi's object model: that model re-serializes schemas in its own shape per version, and what must be
/// validated is exactly what the document says.
/// </summary>
public static class OpenApiContracts
{
    private const string Dialect = "https://json-schema.org/draft/2020-12/schema";
    private const string ComponentsPrefix = "#/components/schemas/";

    /// <summary>The contract of <paramref name="method"/> <paramref name="path"/>, or null when the document has no such operation.</summary>
    public static OperationContract? Read(JsonObject root, string path, string method, bool openApi30)
    {
        if (root["paths"]?[path] is not JsonObject item || item[method.ToLowerInvariant()] is not JsonObject operation)
        {
            return null;
        }

        var components = root["components"]?["schemas"] as JsonObject;
        string? Schema(JsonNode? schema) => schema is null ? null : SchemaText(schema, components, openApi30);

        var parameters = new Dictionary<(string, string), ParameterContract>();
        foreach (var list in new[] { item["parameters"], operation["parameters"] })
        {
            if (list is not JsonArray array)
            {
                continue;
            }

            foreach (var p in array)
            {
                if (Resolve(root, p) is not JsonObject parameter || parameter["name"]?.GetValue<string>() is not { } name
                    || parameter["in"]?.GetValue<string>() is not { } where || where is not ("path" or "query" or "header"))
                {
                    continue;
                }

                var required = where == "path" || parameter["required"]?.GetValue<bool>() == true;
                var schema = parameter["schema"] ?? (parameter["content"] as JsonObject)?.FirstOrDefault().Value?["schema"];
                // Operation-level parameters override path-level ones of the same name and place.
                parameters[(where, where == "header" ? name.ToLowerInvariant() : name)] = new ParameterContract(name, where, required, Schema(schema));
            }
        }

        RequestBodyContract? body = null;
        if (Resolve(root, operation["requestBody"]) is JsonObject requestBody)
        {
            var content = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            if (requestBody["content"] is JsonObject media)
            {
                foreach (var (type, value) in media)
                {
                    content[type] = Schema(value?["schema"]);
                }
            }

            body = new RequestBodyContract(requestBody["required"]?.GetValue<bool>() == true, content);
        }

        var responses = new Dictionary<string, IReadOnlyDictionary<string, string?>>(StringComparer.OrdinalIgnoreCase);
        if (operation["responses"] is JsonObject answers)
        {
            foreach (var (status, value) in answers)
            {
                var content = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                if (Resolve(root, value)?["content"] is JsonObject media)
                {
                    foreach (var (type, m) in media)
                    {
                        content[type] = Schema(m?["schema"]);
                    }
                }

                responses[status] = content;
            }
        }

        return new OperationContract([.. parameters.Values], body, responses);
    }

    /// <summary>Follows a local <c>$ref</c> (<c>#/components/parameters/X</c>) once; other nodes are returned as they are.</summary>
    private static JsonNode? Resolve(JsonObject root, JsonNode? node)
    {
        for (var hops = 0; hops < 8 && node is JsonObject o && o["$ref"]?.GetValue<string>() is { } reference; hops++)
        {
            if (!reference.StartsWith("#/", StringComparison.Ordinal))
            {
                return null;
            }

            node = root;
            foreach (var part in reference[2..].Split('/'))
            {
                node = node?[part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)];
            }
        }

        return node;
    }

    /// <summary>
    /// <paramref name="schema"/> as a 2020-12 document: OpenAPI 3.0's <c>nullable</c> and boolean
    /// <c>exclusiveMinimum</c>/<c>exclusiveMaximum</c> rewritten, and each component it reaches copied under <c>$defs</c>.
    /// </summary>
    public static string SchemaText(JsonNode schema, JsonObject? components, bool openApi30)
    {
        var used = new List<string>();
        var converted = Convert(schema, openApi30, used);
        var document = converted as JsonObject ?? new JsonObject { ["allOf"] = new JsonArray(converted) };
        document["$schema"] = Dialect;
        if (used.Count > 0 && components is not null)
        {
            var defs = new JsonObject();
            for (var i = 0; i < used.Count; i++)
            {
                var name = used[i];
                if (!defs.ContainsKey(name) && components[name] is { } component)
                {
                    // Converting a component adds the components it reaches to 'used', so the loop reaches them too.
                    defs[name] = Convert(component, openApi30, used);
                }
            }

            document["$defs"] = defs;
        }

        return document.ToJsonString();
    }

    private static JsonNode? Convert(JsonNode? node, bool openApi30, List<string> used)
    {
        switch (node)
        {
            case JsonArray array:
                return new JsonArray([.. array.Select(n => Convert(n, openApi30, used))]);
            case JsonObject o:
                var result = new JsonObject();
                foreach (var (key, value) in o)
                {
                    if (key == "$ref" && value?.GetValue<string>() is { } reference && reference.StartsWith(ComponentsPrefix, StringComparison.Ordinal))
                    {
                        var name = reference[ComponentsPrefix.Length..];
                        if (!used.Contains(name))
                        {
                            used.Add(name);
                        }

                        result[key] = "#/$defs/" + name;
                    }
                    else if (openApi30 && key is "nullable" or "example" or "exclusiveMinimum" or "exclusiveMaximum" && value is JsonValue)
                    {
                        // Rewritten below from the whole object.
                    }
                    else
                    {
                        // 'properties' and '$defs'-like maps hold schemas by name; every value is converted alike.
                        result[key] = Convert(value, openApi30, used);
                    }
                }

                if (openApi30)
                {
                    Rewrite30(o, result);
                }

                return result;
            default:
                return node?.DeepClone();
        }
    }

    private static void Rewrite30(JsonObject source, JsonObject result)
    {
        foreach (var (flag, bound) in new[] { ("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum") })
        {
            if (source[flag] is JsonValue v && v.TryGetValue<bool>(out var exclusive))
            {
                if (exclusive && result[bound] is { } limit)
                {
                    result[flag] = limit.DeepClone();
                    result.Remove(bound);
                }
            }
            else if (source[flag] is JsonValue number)
            {
                result[flag] = number.DeepClone();
            }
        }

        if (source["nullable"] is JsonValue n && n.TryGetValue<bool>(out var nullable) && nullable)
        {
            if (result["type"] is JsonValue t && t.TryGetValue<string>(out var type))
            {
                result["type"] = new JsonArray(type, "null");
            }

            if (result["enum"] is JsonArray values && !values.Any(x => x is null))
            {
                values.Add(null);
            }
        }
    }
}
