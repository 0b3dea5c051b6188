using System.Text.Json.Nodes;
using Gatehouse.Cli.Commands;
using Gatehouse.Model.Operations;
using Gatehouse.Management.Revisions;

namespace Gatehouse.Tests.Cli;

/// <summary>The YAML <c>gatehouse export</c> writes reads back as the same JSON tree.</summary>
public sealed class YamlWriterTests
{
    [Fact]
    public void Write_TextThatLooksLikeOtherTypes_ReadsBackAsTheSameTree()
    {
        var entry = new JsonObject
        {
            ["texts"] = new JsonArray("true", "no", "8080", "1.5", "-3", ".inf", "", "null", "~", "a: b", "# not a comment", "multi\nline", "/users/{id}", "[x]", "10 $$ a month", " padded "),
            ["number"] = 8080,
            ["fraction"] = 0.25,
            ["flag"] = false,
            ["nothing"] = null,
            ["empty"] = new JsonObject(),
            ["none"] = new JsonArray(),
        };
        var document = new JsonObject { ["version"] = 1, ["plans"] = new JsonObject { ["p"] = entry.DeepClone() } };

        var yaml = YamlWriter.Write(document);
        var resources = ConfigDocument.Split(yaml, out var errors);

        Assert.Empty(errors);
        var plan = Assert.Single(resources);
        Assert.True(JsonNode.DeepEquals(entry, JsonNode.Parse(plan.Body)), yaml);
    }
}
