using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Operations;

/// <summary>
/// Turns a YAML document into the JSON tree it stands for, so YAML OpenAPI documents can go through
/// Microsoft.OpenApi's JSON reader (its YAML reader package is not available from our package source).
/// Plain scalars follow the YAML 1.2 core schema (null, booleans, numbers); quoted scalars are strings.
/// </summary>
internal static partial class YamlJson
{
    // Aliases let a small document expand into a huge tree ("billion laughs"); a real API document is far below this.
    private const int MaxNodes = 2_000_000;
    private const int MaxDepth = 256;

    /// <summary>Parses <paramref name="yaml"/>; on failure returns null and says why.</summary>
    public static JsonNode? Parse(string yaml, out string? error)
    {
        error = null;
        var stream = new YamlStream();
        try
        {
            stream.Load(Loading.JsonYamlParser.TryCreate(yaml) ?? new Parser(new StringReader(yaml)));
        }
        catch (YamlException e)
        {
            error = $"it is not valid YAML (line {e.Start.Line}, column {e.Start.Column}): {e.Message}";
            return null;
        }
        catch (InvalidOperationException e)
        {
            error = $"it is not valid YAML: {e.Message}";
            return null;
        }

        if (stream.Documents.Count != 1)
        {
            error = stream.Documents.Count == 0 ? "it is empty." : "it holds several YAML documents ('---'); an OpenAPI file holds one.";
            return null;
        }

        var count = 0;
        try
        {
            return Convert(stream.Documents[0].RootNode, 0, ref count);
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
    }

    private static JsonNode? Convert(YamlNode node, int depth, ref int count)
    {
        if (++count > MaxNodes || depth > MaxDepth)
        {
            throw new FormatException($"it is nested too deeply or expands to more than {MaxNodes} values (through aliases).");
        }

        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (key, value) in map.Children)
                {
                    if (key is not YamlScalarNode { Value: { } name })
                    {
                        throw new FormatException($"line {key.Start.Line}: a mapping key is not a plain value; JSON keys are text.");
                    }

                    obj[name] = Convert(value, depth + 1, ref count);
                }

                return obj;
            case YamlSequenceNode seq:
                var array = new JsonArray();
                foreach (var item in seq.Children)
                {
                    array.Add(Convert(item, depth + 1, ref count));
                }

                return array;
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                throw new FormatException($"line {node.Start.Line}: unsupported YAML node.");
        }
    }

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any))
        {
            return JsonValue.Create(text);
        }

        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }

        if (Integer().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return JsonValue.Create(l);
        }

        if (Float().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return JsonValue.Create(d);
        }

        return JsonValue.Create(text);
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();
}
