using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;
using Gatehouse.Model.Validation;

namespace Gatehouse.Management.Revisions;

/// <summary>
/// Turns resources into the config document <c>ConfigLoader</c> reads, and a config document into resources.
/// The document is JSON, which the loader reads as the YAML subset it is, so every rule of the file (unknown
/// keys, names, references) applies to resources exactly as to a file, with the same error paths.
/// </summary>
public static class ConfigDocument
{
    // Names and strings are written as they are (not \u-escaped), so error paths and exports show them literally.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };

    /// <summary>
    /// The document <c>{ "version": 1, "gateway": {...}, "services": { name: body }, ... }</c> made of
    /// <paramref name="resources"/>. Sections keep the order of <paramref name="resources"/>; empty sections are left out.
    /// </summary>
    /// <exception cref="ArgumentException">A resource has an unknown kind or a body that is not JSON.</exception>
    public static string Compose(IEnumerable<ConfigResource> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);

        // Streams each body through JsonDocument rather than building one JsonNode tree: with 100,000 resources the tree
        // cost most of composing (docs/benchmarks.md). The output is the same: sections in order of first appearance,
        // a repeated name keeps its first place and takes the last body, bodies re-serialized with WriterOptions.
        string? gateway = null;
        var sections = new List<(string Section, string Kind, List<string> Names, Dictionary<string, string> Bodies)>();
        foreach (var resource in resources)
        {
            var section = ResourceKinds.SectionOf(resource.Kind)
                ?? throw new ArgumentException($"'{resource.Kind}' is not a kind of resource the configuration has.", nameof(resources));
            if (resource.Kind == ResourceKinds.Gateway)
            {
                gateway = resource.Body;
                if (sections.FindIndex(s => s.Section == "gateway") < 0)
                {
                    sections.Add(("gateway", ResourceKinds.Gateway, [], []));
                }

                continue;
            }

            var index = sections.FindLastIndex(s => s.Section == section);
            if (index < 0)
            {
                sections.Add((section, resource.Kind, [], new Dictionary<string, string>(StringComparer.Ordinal)));
                index = sections.Count - 1;
            }

            var (_, _, names, bodies) = sections[index];
            if (!bodies.ContainsKey(resource.Name))
            {
                names.Add(resource.Name);
            }

            bodies[resource.Name] = resource.Body;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("version", GatehouseConfig.CurrentVersion);
            foreach (var (section, kind, names, bodies) in sections)
            {
                writer.WritePropertyName(section);
                if (section == "gateway")
                {
                    WriteBody(writer, ResourceKinds.Gateway, ResourceKinds.Gateway, gateway!);
                    continue;
                }

                writer.WriteStartObject();
                foreach (var name in names)
                {
                    writer.WritePropertyName(name);
                    WriteBody(writer, kind, name, bodies[name]);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteBody(Utf8JsonWriter writer, string kind, string name, string body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"The body of {kind} '{name}' is not JSON: {e.Message}", "resources", e);
        }

        using (document)
        {
            document.RootElement.WriteTo(writer);
        }
    }

    /// <summary>Writes <paramref name="node"/> as indented JSON with strings as they are.</summary>
    public static string Write(JsonNode? node)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            if (node is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                node.WriteTo(writer);
            }
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// The resources of a config document (YAML or JSON): one per entry of each section, and the <c>gateway</c>
    /// section as one resource. <c>${NAME}</c> references are kept as written (they are resolved when the
    /// configuration is loaded). Check the document with <c>ConfigLoader</c> first; this only reports what
    /// keeps it from being split.
    /// </summary>
    public static IReadOnlyList<ConfigResource> Split(string text, out IReadOnlyList<ConfigError> errors)
    {
        var root = YamlJson.Parse(text, out var error);
        if (error is not null)
        {
            errors = [new ConfigError("", $"the document cannot be read: {error}")];
            return [];
        }

        return Split(root, out errors);
    }

    /// <summary>The resources of a config document already parsed as JSON; see <see cref="Split(string, out IReadOnlyList{ConfigError})"/>.</summary>
    public static IReadOnlyList<ConfigResource> Split(JsonNode? root, out IReadOnlyList<ConfigError> errors)
    {
        var found = new List<ConfigError>();
        errors = found;
        if (root is not JsonObject map)
        {
            found.Add(new ConfigError("", "the document is not a mapping; start it with 'version: 1'."));
            return [];
        }

        var resources = new List<ConfigResource>();
        foreach (var (key, value) in map)
        {
            if (key == "version")
            {
                continue;
            }

            var kind = ResourceKinds.KindOf(key);
            if (kind is null)
            {
                found.Add(new ConfigError(key, $"'{key}' is not a section of the configuration."));
                continue;
            }

            if (kind == ResourceKinds.Gateway)
            {
                if (value is not null)
                {
                    resources.Add(new ConfigResource(kind, ResourceKinds.GatewayName, Compact(value)));
                }

                continue;
            }

            if (value is null)
            {
                continue;
            }

            if (value is not JsonObject entries)
            {
                found.Add(new ConfigError(key, $"'{key}' must be a mapping of name to entry."));
                continue;
            }

            foreach (var (name, entry) in entries)
            {
                resources.Add(new ConfigResource(kind, name, entry is null ? "null" : Compact(entry)));
            }
        }

        return resources;
    }

    private static string Compact(JsonNode node) =>
        node.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
