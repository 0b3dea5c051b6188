using System.Text.Json.Nodes;
using Gatehouse.Model.Config;
using Gatehouse.Model.Schema;

namespace Gatehouse.Management.Admin;

/// <summary>
/// The schemas of the admin API's config resource bodies (a service, a route, the gateway section, a whole document):
/// the definitions of the config's JSON Schema, made from the records (issue 17), never described twice by hand.
/// </summary>
internal static class ConfigBodySchemas
{
    private static readonly JsonObject Schema = JsonNode.Parse(ConfigSchema.Published)!.AsObject();

    /// <summary>The config schema's definitions, for <c>components.schemas</c> (references rewritten to point there).</summary>
    public static JsonObject Components()
    {
        var components = new JsonObject();
        foreach (var (name, definition) in Schema["$defs"]!.AsObject())
        {
            components[name] = Rewrite(definition!.DeepClone());
        }

        var document = new JsonObject();
        foreach (var (key, value) in Schema)
        {
            if (key is not ("$schema" or "$id" or "$defs" or "title"))
            {
                document[key] = Rewrite(value!.DeepClone());
            }
        }

        components[Document] = document;
        return components;
    }

    /// <summary>The name, in <c>components.schemas</c>, of a whole config document.</summary>
    public const string Document = "GatehouseDocument";

    /// <summary>A reference to the schema of one resource of <paramref name="section"/> (<c>services</c>, <c>gateway</c>), or of a whole document for <c>null</c>.</summary>
    public static JsonObject For(string? section)
    {
        if (section is null)
        {
            return new JsonObject { ["$ref"] = $"#/components/schemas/{Document}" };
        }

        var key = RecordShape.Of(typeof(GatehouseConfig)).Keys.Single(k => k.Name == section);
        var type = key.Value.Kind == ValueKind.Map ? key.Value.Element!.Type : key.Property.PropertyType.GetGenericArguments() is [_, var element] ? element : key.Property.PropertyType;
        return new JsonObject { ["$ref"] = $"#/components/schemas/{ConfigSchema.DefinitionName(type)}" };
    }

    private static JsonNode Rewrite(JsonNode node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o.ToList())
                {
                    if (key == "$ref" && value?.GetValue<string>() is { } reference && reference.StartsWith("#/$defs/", StringComparison.Ordinal))
                    {
                        o[key] = "#/components/schemas/" + reference["#/$defs/".Length..];
                    }
                    else if (value is not null)
                    {
                        Rewrite(value);
                    }
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    if (item is not null)
                    {
                        Rewrite(item);
                    }
                }

                break;
        }

        return node;
    }
}
