using System.Text.Json.Nodes;

namespace Gatehouse.Model.Compositions;

/// <summary>A compiled response (or body) template: parsed once when the config is loaded, evaluated per request.</summary>
public abstract record Template;

/// <summary>A value written as is.</summary>
public sealed record LiteralTemplate(JsonNode? Value) : Template;

/// <summary>The value of a reference (<c>"@user.body"</c>).</summary>
public sealed record RefTemplate(ValueRef Ref) : Template;

/// <summary>An array of templates.</summary>
public sealed record ArrayTemplate(IReadOnlyList<Template> Items) : Template;

/// <summary>An object of templates; fields written later can read earlier ones as <c>@this.NAME</c>.</summary>
public sealed record ObjectTemplate(IReadOnlyList<KeyValuePair<string, Template>> Fields) : Template;

/// <summary><c>"@each"</c>: maps every element of <see cref="Source"/>, bound as <see cref="Alias"/>, through <see cref="Element"/>.</summary>
public sealed record EachTemplate(Template Source, string Alias, Template Element) : Template;

/// <summary><c>"@lookup"</c>: the element of <see cref="Source"/> whose <see cref="Key"/> field equals <see cref="By"/>, or null.</summary>
public sealed record LookupTemplate(Template Source, Template By, string Key) : Template
{
    private readonly Derived<string, byte[]?> _keyUtf8 = new(Key, Utf8Names.Encode(Key));

    /// <summary>The UTF-8 of <see cref="Key"/>, or null (then read by the string).</summary>
    internal byte[]? KeyUtf8 => _keyUtf8.For(Key);
}

/// <summary><c>"@merge"</c>: the fields of every object in order, later ones winning.</summary>
public sealed record MergeTemplate(IReadOnlyList<Template> Parts) : Template;

/// <summary><c>"@sum"</c>: Σ over the elements of <see cref="Source"/> of the product of the <see cref="Of"/> fields (dotted paths).</summary>
public sealed record SumTemplate(Template Source, IReadOnlyList<string[]> Of) : Template
{
    private readonly Derived<IReadOnlyList<string[]>, byte[]?[]?[]> _ofUtf8 = Of is null ? default : new(Of, [.. Of.Select(path => path?.Select(Utf8Names.Encode).ToArray())]);

    /// <summary>The UTF-8 of every name of <see cref="Of"/>, or null (then read by the strings).</summary>
    internal byte[]?[]?[]? OfUtf8 => _ofUtf8.For(Of);
}

/// <summary>
/// A base value reshaped: the <see cref="Extra"/> fields evaluated in order, each seeing the whole base and the fields
/// above it as <c>@this</c>; then <see cref="Select"/> keeps those fields of the base (extra fields always stay),
/// <see cref="Omit"/> and <see cref="Rename"/> apply to the result. A base that is an empty <see cref="ObjectTemplate"/>
/// is none: the object is its extra fields.
/// </summary>
public sealed record ShapeTemplate(
    Template Base,
    IReadOnlyList<string>? Select,
    IReadOnlyList<string>? Omit,
    IReadOnlyList<KeyValuePair<string, string>>? Rename,
    IReadOnlyList<KeyValuePair<string, Template>> Extra) : Template
{
    private readonly Derived<IReadOnlyList<string>, FieldSelection?> _selection = Select is null ? default : new(Select, FieldSelection.Of(Select));

    /// <summary>
    /// <see cref="Select"/> ready to read by UTF-8 and to view a borrowed object through (see
    /// <see cref="ElementValueKind.Selected"/>); null when there is none, or when a name is not valid UTF-16.
    /// </summary>
    internal FieldSelection? Selection => _selection.For(Select);
}

/// <summary><c>"@number"</c> or <c>"@string"</c>: <see cref="Source"/>'s value as a JSON number or string (null when it has none).</summary>
public sealed record ConversionTemplate(Template Source, ValueConversion To) : Template;
