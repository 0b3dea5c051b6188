using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Schema;

/// <summary>
/// The JSON Schema (2020-12) of a config document, made from the records: keys, types, units, ranges, defaults, and
/// descriptions from their doc comments. Editors use it to complete and check config files (yaml-language-server),
/// the admin API's OpenAPI document uses its definitions for resource bodies, and <c>gatehouse schema</c> prints it.
/// A value may always be a <c>${VARIABLE}</c> reference, which the schema allows wherever the key is not text anyway.
/// </summary>
public static class ConfigSchema
{
    /// <summary>The schema's <c>$id</c>.</summary>
    public const string Id = "https://gatehouse.dev/schema/gatehouse.schema.json";

    private const string EnvironmentPattern = @"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}";
    private const string NamePattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$";
    private const string DurationPattern = @"^ *[0-9]+(\.[0-9]+)? *(ms|s|m|h|d)? *$";
    private const string SizePattern = "^ *[0-9]+ *([kKmMgG]([iI]?[bB])?|[bB])? *$";

    /// <summary>
    /// The published schema (<c>schema/gatehouse.schema.json</c>, built into this assembly): what <see cref="Generate"/>
    /// makes from the records of this build, as a test checks.
    /// </summary>
    public static string Published { get; } = ReadPublished();

    private static string ReadPublished()
    {
        using var stream = typeof(ConfigSchema).Assembly.GetManifestResourceStream("gatehouse.schema.json")
            ?? throw new InvalidOperationException("the published schema is not built into Gatehouse.Model.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The schema of <see cref="GatehouseConfig"/>, as indented JSON with a final newline (as published).</summary>
    public static string Generate(XmlDocs docs) =>
        Build(docs).ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";

    /// <summary>The schema of <see cref="GatehouseConfig"/> as a JSON tree.</summary>
    public static JsonObject Build(XmlDocs docs)
    {
        var defs = new SortedDictionary<string, JsonNode>(StringComparer.Ordinal);
        var root = RecordSchema(RecordShape.Of(typeof(GatehouseConfig)), docs, defs);
        var schema = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$id"] = Id,
            ["title"] = "Gatehouse configuration",
        };
        foreach (var (key, value) in root)
        {
            schema[key] = value?.DeepClone();
        }

        var defsNode = new JsonObject();
        foreach (var (name, def) in defs)
        {
            defsNode[name] = def;
        }

        schema["$defs"] = defsNode;
        return schema;
    }

    /// <summary>The definition name of a record type in <c>$defs</c>.</summary>
    public static string DefinitionName(Type record) => record.Name;

    private static JsonObject RecordSchema(RecordShape shape, XmlDocs docs, IDictionary<string, JsonNode> defs)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        var defaults = shape.Create();
        foreach (var key in shape.Keys)
        {
            var property = key.BoundByRules
                ? key.CustomSchema is { } text ? JsonNode.Parse(text)!.AsObject() : TypeSchema(key.Property.PropertyType, docs, defs)
                : ValueSchema(key.Value, docs, defs);
            var description = docs.Of(key.Property);
            var node = new JsonObject();
            if (description.Length > 0)
            {
                node["description"] = description;
            }

            foreach (var (k, v) in property)
            {
                node[k] = v?.DeepClone();
            }

            if (!key.Required && !key.BoundByRules && DefaultOf(key, defaults) is { } value)
            {
                node["default"] = value;
            }

            properties[key.Name] = node;
            if (key.Required || key.Property.GetCustomAttributes(typeof(SchemaRequiredAttribute), false).Length > 0)
            {
                required.Add(key.Name);
            }
        }

        var schema = new JsonObject { ["type"] = "object" };
        var typeDescription = docs.Of(shape.Type);
        if (typeDescription.Length > 0)
        {
            schema["description"] = typeDescription;
        }

        schema["properties"] = properties;
        if (required.Count > 0)
        {
            schema["required"] = required;
        }

        schema["additionalProperties"] = false;
        return schema;
    }

    private static JsonObject Reference(Type record, XmlDocs docs, IDictionary<string, JsonNode> defs)
    {
        var name = DefinitionName(record);
        if (!defs.ContainsKey(name))
        {
            defs[name] = new JsonObject(); // placeholder, so a type that refers to itself ends
            var shape = RecordShape.Of(record);
            JsonNode def = RecordSchema(shape, docs, defs);
            if (shape.Shorthand is { } shorthand)
            {
                def = new JsonObject { ["anyOf"] = new JsonArray(ValueSchema(shorthand.Value, docs, defs), def) };
            }
            else if (shape.EmptyAllowed)
            {
                def = new JsonObject { ["anyOf"] = new JsonArray(new JsonObject { ["type"] = "null" }, def) };
            }

            defs[name] = def;
        }

        return new JsonObject { ["$ref"] = $"#/$defs/{name}" };
    }

    private static JsonObject ValueSchema(ValueShape shape, XmlDocs docs, IDictionary<string, JsonNode> defs) => shape.Kind switch
    {
        ValueKind.Text => new JsonObject { ["type"] = "string" },
        ValueKind.Integer => OrVariable(shape.Minimum is { } min ? new JsonObject { ["type"] = "integer", ["minimum"] = min } : new JsonObject { ["type"] = "integer" }),
        ValueKind.Number => OrVariable(shape.Share
            ? new JsonObject { ["type"] = "number", ["minimum"] = 0, ["maximum"] = 1 }
            : shape.Minimum is { } least ? new JsonObject { ["type"] = "number", ["minimum"] = least } : new JsonObject { ["type"] = "number" }),
        ValueKind.Boolean => OrVariable(new JsonObject { ["type"] = "boolean" }),
        ValueKind.Duration => new JsonObject
        {
            ["anyOf"] = new JsonArray(
                new JsonObject { ["type"] = "number", ["minimum"] = 0 },
                new JsonObject { ["type"] = "string", ["pattern"] = DurationPattern },
                Variable()),
        },
        ValueKind.Size => new JsonObject
        {
            ["anyOf"] = new JsonArray(
                new JsonObject { ["type"] = "integer", ["minimum"] = 1 },
                new JsonObject { ["type"] = "string", ["pattern"] = SizePattern },
                Variable()),
        },
        ValueKind.Enum => OrVariable(new JsonObject { ["enum"] = new JsonArray([.. shape.EnumNames.Select(n => (JsonNode)n)]) }),
        ValueKind.DateTime => new JsonObject { ["type"] = "string", ["format"] = "date-time" },
        ValueKind.List => ListSchema(ValueSchema(shape.Element!, docs, defs), shape.OneOrMany),
        ValueKind.Map => new JsonObject
        {
            ["type"] = "object",
            ["propertyNames"] = shape.FreeKeys ? new JsonObject { ["minLength"] = 1 } : new JsonObject { ["pattern"] = NamePattern },
            ["additionalProperties"] = ValueSchema(shape.Element!, docs, defs),
        },
        ValueKind.Record => Reference(shape.Type, docs, defs),
        _ => TypeSchema(shape.Type, docs, defs),
    };

    private static JsonObject ListSchema(JsonObject items, bool oneOrMany)
    {
        var list = new JsonObject { ["type"] = "array", ["items"] = items };
        return oneOrMany ? new JsonObject { ["anyOf"] = new JsonArray(items.DeepClone(), list) } : list;
    }

    // For keys bound by rules: the shape of their records, where types the generic binder does not bind (a JSON
    // template, a map keyed by status codes) are described as what they accept.
    private static JsonObject TypeSchema(Type type, XmlDocs docs, IDictionary<string, JsonNode> defs)
    {
        if (type == typeof(JsonNode))
        {
            return [];
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>) && type.GetGenericArguments()[0] == typeof(int))
        {
            return new JsonObject
            {
                ["type"] = "object",
                ["propertyNames"] = new JsonObject { ["pattern"] = "^[1-5][0-9][0-9]$" },
                ["additionalProperties"] = new JsonObject { ["type"] = "integer", ["minimum"] = 100, ["maximum"] = 599 },
            };
        }

        if (RecordShape.IsRecord(type))
        {
            return Reference(type, docs, defs);
        }

        return ValueSchema(ValueShape.Of(type, null), docs, defs);
    }

    private static JsonObject Variable() => new() { ["type"] = "string", ["pattern"] = EnvironmentPattern };

    private static JsonObject OrVariable(JsonObject schema) => new() { ["anyOf"] = new JsonArray(schema, Variable()) };

    /// <summary>The default of <paramref name="key"/> as a config file would write it, or null when it has none worth stating.</summary>
    internal static JsonNode? DefaultOf(KeyShape key, object defaults)
    {
        object? value;
        try
        {
            value = key.Get(defaults);
        }
        catch (NullReferenceException)
        {
            return null; // a default derived from a required key (an operation's access from its method)
        }

        return value is null ? null : Format(value, key.Value);
    }

    private static JsonNode? Format(object value, ValueShape shape) => shape.Kind switch
    {
        ValueKind.Text => (string)value,
        ValueKind.Integer => value is int i ? i : (long)value,
        ValueKind.Number => (double)value,
        ValueKind.Boolean => (bool)value,
        ValueKind.Duration => Units.FormatDuration((TimeSpan)value),
        ValueKind.Size => FormatSize(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)),
        ValueKind.Enum => Units.CamelCase(value.ToString()!),
        ValueKind.List => new JsonArray([.. ((IEnumerable)value).Cast<object>().Select(v => Format(v, shape.Element!))]),
        ValueKind.Map => ((ICollection)value).Count == 0 ? new JsonObject() : null,
        _ => null,
    };

    /// <summary>A size in the largest binary unit that holds it whole (<c>30MB</c>).</summary>
    public static string FormatSize(long bytes) => bytes switch
    {
        >= 1L << 30 when bytes % (1L << 30) == 0 => $"{bytes >> 30}GB",
        >= 1L << 20 when bytes % (1L << 20) == 0 => $"{bytes >> 20}MB",
        >= 1L << 10 when bytes % (1L << 10) == 0 => $"{bytes >> 10}KB",
        _ => bytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
