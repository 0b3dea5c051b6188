using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Gatehouse.Model.Schema;

/// <summary>
/// The XML documentation of the config records (the compiler's <c>Gatehouse.Model.xml</c>), read as text: the doc
/// comments on the records are the user's reference, and the JSON Schema and docs/configuration.md are made from them.
/// </summary>
public sealed partial class XmlDocs
{
    private readonly Dictionary<string, string> _summaries;

    private XmlDocs(Dictionary<string, string> summaries) => _summaries = summaries;

    /// <summary>No documentation: every description is empty.</summary>
    public static XmlDocs None { get; } = new([]);

    /// <summary>Reads the documentation file next to the assembly of <paramref name="type"/>; <see cref="None"/> when there is none.</summary>
    public static XmlDocs For(Type type)
    {
        var file = Path.ChangeExtension(type.Assembly.Location, ".xml");
        return File.Exists(file) ? Load(XDocument.Load(file)) : None;
    }

    /// <summary>Reads a documentation file's members.</summary>
    public static XmlDocs Load(XDocument document)
    {
        var summaries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var member in document.Descendants("member"))
        {
            if (member.Attribute("name")?.Value is { } name && member.Element("summary") is { } summary)
            {
                summaries[name] = Text(summary);
            }
        }

        return new XmlDocs(summaries);
    }

    /// <summary>The summary of <paramref name="property"/> as one paragraph of Markdown, or "".</summary>
    public string Of(PropertyInfo property) =>
        _summaries.GetValueOrDefault($"P:{property.DeclaringType!.FullName}.{property.Name}") ?? "";

    /// <summary>The summary of <paramref name="type"/> as one paragraph of Markdown, or "".</summary>
    public string Of(Type type) => _summaries.GetValueOrDefault($"T:{type.FullName}") ?? "";

    // Doc comments are written for readers of the code; here they become Markdown for readers of the config:
    // <c> is code, a reference to another key is that key's config name, and whitespace folds to single spaces.
    private static string Text(XElement element)
    {
        var sb = new StringBuilder();
        foreach (var node in element.Nodes())
        {
            switch (node)
            {
                case XText text:
                    sb.Append(text.Value);
                    break;
                case XElement { Name.LocalName: "c" or "code" } code:
                    sb.Append('`').Append(code.Value).Append('`');
                    break;
                case XElement { Name.LocalName: "see" or "seealso" } see:
                    sb.Append(Reference(see));
                    break;
                case XElement { Name.LocalName: "paramref" or "typeparamref" } p:
                    sb.Append('`').Append(p.Attribute("name")?.Value).Append('`');
                    break;
                case XElement { Name.LocalName: "para" } para:
                    sb.Append(' ').Append(Text(para)).Append(' ');
                    break;
                case XElement { Name.LocalName: "list" } list:
                    foreach (var item in list.Elements("item"))
                    {
                        sb.Append(' ').Append(Text(item)).Append(';');
                    }

                    break;
                case XElement other:
                    sb.Append(Text(other));
                    break;
            }
        }

        return Whitespace().Replace(sb.ToString(), " ").Trim();
    }

    private static string Reference(XElement see)
    {
        if (see.Attribute("langword")?.Value is { } word)
        {
            return $"`{word}`";
        }

        if (!string.IsNullOrWhiteSpace(see.Value))
        {
            return see.Value;
        }

        var cref = see.Attribute("cref")?.Value ?? "";
        var name = cref[(cref.LastIndexOf('.') + 1)..];
        return cref.StartsWith("P:", StringComparison.Ordinal) ? $"`{Loading.Units.CamelCase(name)}`" : $"`{name}`";
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
