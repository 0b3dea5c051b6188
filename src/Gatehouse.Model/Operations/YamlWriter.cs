using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Operations;

/// <summary>
/// Writes a JSON tree as block YAML that reads back as the same tree: a text value that YAML would read as null,
/// a boolean or a number is quoted; YamlDotNet quotes the rest where plain YAML cannot hold them. Shared by
/// <c>gatehouse export</c> and the portal's per-plan OpenAPI documents (<c>.yaml</c>).
/// </summary>
public static partial class YamlWriter
{
    /// <summary>The YAML text of <paramref name="root"/>.</summary>
    public static string Write(JsonNode? root)
    {
        var stream = new YamlStream(new YamlDocument(Convert(root)));
        using var writer = new StringWriter();
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();
        // YamlDotNet ends a document with "...", which is valid but looks odd in a config file.
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    private static YamlNode Convert(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                var map = new YamlMappingNode();
                foreach (var (key, value) in obj)
                {
                    map.Add(Text(key), Convert(value));
                }

                return map;
            case JsonArray array:
                var seq = new YamlSequenceNode();
                foreach (var item in array)
                {
                    seq.Add(Convert(item));
                }

                return seq;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                return Text(value.GetValue<string>());
            case null:
                return new YamlScalarNode("null") { Style = ScalarStyle.Plain };
            default:
                // Numbers and booleans: their JSON text is their YAML text.
                return new YamlScalarNode(node.ToJsonString()) { Style = ScalarStyle.Plain };
        }
    }

    private static YamlScalarNode Text(string value) =>
        new(value) { Style = LooksLikeAnotherType().IsMatch(value) || value.Length == 0 ? ScalarStyle.DoubleQuoted : ScalarStyle.Any };

    // YAML 1.1 and 1.2 core-schema nulls, booleans and numbers, case-insensitively and generously: quoting too much is harmless.
    [GeneratedRegex(@"^(~|null|true|false|yes|no|on|off|y|n|[-+]?\.?[0-9].*|[-+]?\.(inf|nan))$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex LooksLikeAnotherType();
}
