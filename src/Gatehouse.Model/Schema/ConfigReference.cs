using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.Model.Config;

namespace Gatehouse.Model.Schema;

/// <summary>
/// The tables of docs/configuration.md, made from the records: each key's name, type, default and meaning (its doc
/// comment). The prose around them stays hand-written; a test regenerates the tables between the
/// <c>&lt;!-- generated: NAME --&gt;</c> and <c>&lt;!-- end generated --&gt;</c> markers and fails when they differ.
/// </summary>
public static partial class ConfigReference
{
    /// <summary>The tables by marker name: the record each documents.</summary>
    public static IReadOnlyDictionary<string, Type> Tables { get; } = new Dictionary<string, Type>(StringComparer.Ordinal)
    {
        ["document"] = typeof(GatehouseConfig),
        ["gateway"] = typeof(GatewayConfig),
        ["service"] = typeof(ServiceConfig),
        ["operation"] = typeof(OperationConfig),
        ["route"] = typeof(RouteConfig),
        ["policies"] = typeof(PoliciesConfig),
        ["jwt-issuer"] = typeof(JwtIssuerConfig),
        ["plan"] = typeof(PlanConfig),
        ["grant"] = typeof(GrantConfig),
        ["limit"] = typeof(LimitConfig),
        ["account"] = typeof(AccountConfig),
        ["application"] = typeof(ApplicationConfig),
        ["composition"] = typeof(CompositionConfig),
        ["composition-step"] = typeof(CompositionStepConfig),
    };

    /// <summary>Replaces every generated table in <paramref name="markdown"/> with the one the records make now.</summary>
    public static string Update(string markdown, XmlDocs docs) => Region().Replace(markdown, m =>
    {
        var name = m.Groups["name"].Value;
        var type = Tables.TryGetValue(name, out var t) ? t : throw new InvalidOperationException($"docs: no generated table is called '{name}'.");
        return $"<!-- generated: {name} -->\n{Table(type, docs)}<!-- end generated -->";
    });

    /// <summary>The Markdown table of <paramref name="record"/>'s keys, nested records flattened (<c>tls.caFile</c>).</summary>
    public static string Table(Type record, XmlDocs docs)
    {
        var sb = new StringBuilder("| key | type | default | meaning |\n|---|---|---|---|\n");
        Rows(sb, RecordShape.Of(record), "", docs);
        return sb.ToString();
    }

    private static void Rows(StringBuilder sb, RecordShape shape, string prefix, XmlDocs docs)
    {
        var defaults = shape.Create();
        foreach (var key in shape.Keys)
        {
            var name = prefix + key.Name;
            var value = key.Value;
            var ownTable = !key.BoundByRules && value.Kind == ValueKind.Record && Tables.Values.Contains(value.Type);
            var nested = !key.BoundByRules && value.Kind == ValueKind.Record && !ownTable;

            // A nested record that is always there (apiKeys) is only its keys; an optional one (tls) gets a row too.
            if (!nested || key.Get(defaults) is null)
            {
                var meaning = docs.Of(key.Property).TrimEnd('.').Replace("|", "\\|", StringComparison.Ordinal);
                sb.Append("| `").Append(name).Append("` | ").Append(TypeText(key)).Append(" | ").Append(ownTable ? "see below" : DefaultText(key, defaults))
                    .Append(" | ").Append(meaning).Append(" |\n");
            }

            // Nested records are documented in place; maps of records, and records with a table, have tables of their own.
            if (nested)
            {
                Rows(sb, value.Record, name + ".", docs);
            }
            else if (!key.BoundByRules && value.Kind == ValueKind.List && value.Element!.Kind == ValueKind.Record && !Tables.Values.Contains(value.Element.Type))
            {
                Rows(sb, value.Element.Record, name + "[].", docs);
            }
        }
    }

    private static string TypeText(KeyShape key)
    {
        if (key.Property.GetCustomAttribute<DocTypeAttribute>() is { } doc)
        {
            return doc.Text;
        }

        if (key.FilePath)
        {
            return "path";
        }

        return key.BoundByRules ? Describe(ValueShape.Of(key.Property.PropertyType, null)) : Describe(key.Value);
    }

    private static string Describe(ValueShape value)
    {
        var text = value.Kind switch
        {
            ValueKind.Text => "string",
            ValueKind.Integer => value.Minimum is { } min ? $"int ≥ {min}" : "int",
            ValueKind.Number => value.Share ? "share 0–1" : value.Minimum is { } least ? $"number ≥ {least}" : "number",
            ValueKind.Boolean => "bool",
            ValueKind.Duration => "duration",
            ValueKind.Size => "size",
            ValueKind.Enum => string.Join(" \\| ", value.EnumNames.Select(n => $"`{n}`")),
            ValueKind.DateTime => "date-time",
            ValueKind.List => $"list of {Plural(value.Element!)}",
            ValueKind.Map => $"mapping {(value.FreeKeys ? "key" : "name")} → {(value.Element!.Kind == ValueKind.Record ? Noun(value.Element.Type) : Describe(value.Element))}",
            ValueKind.Record => "mapping",
            _ => value.Type.Name == "JsonNode" ? "JSON template" : "mapping",
        };
        return value.OneOrMany ? $"{Describe(value.Element!)}, or a list" : text;
    }

    // ServiceConfig → service, JwtIssuerConfig → JWT issuer.
    private static string Noun(Type record) =>
        string.Concat(record.Name.Replace("Config", "", StringComparison.Ordinal).Select((c, i) => char.IsUpper(c) && i > 0 ? " " + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()))
            .Replace("jwt", "JWT", StringComparison.Ordinal).Replace("api ", "API ", StringComparison.Ordinal);

    private static string Plural(ValueShape element) => element.Kind switch
    {
        ValueKind.Text => "strings",
        ValueKind.Record => Noun(element.Type) + "s",
        ValueKind.Enum => Describe(element),
        _ => Describe(element) + "s",
    };

    private static string DefaultText(KeyShape key, object defaults)
    {
        if (key.Required)
        {
            return "required";
        }

        if (key.Property.GetCustomAttribute<DefaultTextAttribute>() is { } text)
        {
            return text.Text;
        }

        if (key.Value.Kind is ValueKind.Record)
        {
            return "none";
        }

        if (key.BoundByRules)
        {
            return key.Get(defaults) switch
            {
                System.Collections.IDictionary { Count: 0 } => "`{}`",
                System.Collections.ICollection { Count: 0 } => "`[]`",
                _ => "none",
            };
        }

        var value = ConfigSchema.DefaultOf(key, defaults);
        return value switch
        {
            null => "none",
            System.Text.Json.Nodes.JsonArray { Count: 0 } => "`[]`",
            System.Text.Json.Nodes.JsonObject { Count: 0 } => "`{}`",
            System.Text.Json.Nodes.JsonArray array => $"`[{string.Join(", ", array.Select(v => v!.ToString()))}]`",
            _ when value.ToString() is { Length: 0 } => "`\"\"`",
            _ => $"`{value}`",
        };
    }

    [GeneratedRegex(@"<!-- generated: (?<name>[a-z-]+) -->\n.*?<!-- end generated -->", RegexOptions.Singleline)]
    private static partial Regex Region();
}
