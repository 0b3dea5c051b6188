using System.Text.Json.Nodes;
using Gatehouse.Model.Config;
using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Tests.Schema;

/// <summary>The JSON Schema is made from the config records, and the published copy is the one they make.</summary>
[Trait("Issue", "17")]
public sealed class ConfigSchemaTests
{
    private static readonly XmlDocs Docs = XmlDocs.For(typeof(GatehouseConfig));

    [Fact]
    public void Generated_PublishedSchema_IsWhatTheRecordsMake()
    {
        GeneratedFiles.Check("schema/gatehouse.schema.json", ConfigSchema.Generate(Docs));
    }

    [Fact]
    public void Generated_EveryKey_HasADescription()
    {
        var schema = ConfigSchema.Build(Docs);
        var missing = new List<string>();
        void Visit(JsonObject node, string at)
        {
            if (node["properties"] is JsonObject properties)
            {
                foreach (var (key, value) in properties)
                {
                    if (value is JsonObject p && p["description"] is null)
                    {
                        missing.Add($"{at}.{key}");
                    }
                }
            }
        }

        Visit(schema, "(root)");
        foreach (var (name, def) in schema["$defs"]!.AsObject())
        {
            Visit(def!["anyOf"] is JsonArray any ? any.OfType<JsonObject>().Last() : def.AsObject(), name);
        }

        Assert.True(missing.Count == 0, "keys without a doc comment: " + string.Join(", ", missing));
    }
}
