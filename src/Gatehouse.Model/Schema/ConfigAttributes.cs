namespace Gatehouse.Model.Schema;

// What the config records say about their keys beyond what their types say. The generic binder, the JSON Schema and
// the configuration reference all read these, so a key is described once, on its property. These small attributes
// share a file because they are one vocabulary and read best side by side.

/// <summary>The key's name in a config document, when it is not the property's name in camelCase.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ConfigKeyAttribute(string name) : Attribute
{
    /// <summary>The key as users write it.</summary>
    public string Name { get; } = name;
}

/// <summary>
/// The key must be written, with a non-empty value. <see cref="What"/> completes the error: "'key' is required: WHAT."
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RequiredKeyAttribute(string? what = null) : Attribute
{
    /// <summary>What the key is, for the error message; null says only "'key' is required here."</summary>
    public string? What { get; } = what;
}

/// <summary>A key the schema lists as required whose absence the record's rules report (with their own message).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaRequiredAttribute : Attribute;

/// <summary>A text key that may be left out but, when written, must not be empty.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class NonEmptyAttribute : Attribute;

/// <summary>The smallest whole number allowed.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MinimumAttribute(long value) : Attribute
{
    /// <summary>The minimum, inclusive.</summary>
    public long Value { get; } = value;
}

/// <summary>A size in bytes, written as a number or with a unit (<c>512KB</c>, <c>10MB</c>, <c>1GB</c>; binary multiples).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SizeAttribute : Attribute;

/// <summary>A number that is a share of a whole: from 0 to 1 (<c>0.2</c> is 20%).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ShareAttribute : Attribute;

/// <summary>A duration that may be zero (durations are positive unless marked with this).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ZeroAllowedAttribute : Attribute;

/// <summary>A list that may also be written as one value: <c>read</c> for <c>[read]</c>.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OneOrManyAttribute : Attribute;

/// <summary>A file path; a relative one is relative to the config file's folder.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class FilePathAttribute : Attribute;

/// <summary>
/// A mapping whose keys are free text (header names, for example), not names of things, which must be 1-100 letters,
/// digits, '-', '_' or '.'.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class FreeKeysAttribute : Attribute;

/// <summary>A property the loader sets (a resolved secret, a value derived from another key); never written in config.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class NotConfigAttribute : Attribute;

/// <summary>
/// A key the generic binder leaves to the type's <see cref="BindingRulesAttribute"/> rules, because its shape is one
/// types cannot say (the composition template language, operations declared or imported from OpenAPI).
/// <see cref="Schema"/> gives its JSON Schema as JSON text; without it, the schema is made from the property's type.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class BoundByRulesAttribute(string? schema = null) : Attribute
{
    /// <summary>The key's JSON Schema, as JSON text, or null to make it from the property's type.</summary>
    public string? Schema { get; } = schema;
}

/// <summary>
/// A record that may also be written as one text value, which is then the value of <see cref="Property"/>
/// (a target as just its URL).
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class ShorthandAttribute(string property) : Attribute
{
    /// <summary>The property a lone value sets.</summary>
    public string Property { get; } = property;
}

/// <summary>
/// A record left out when any of its keys cannot be bound, rather than kept with that key at its default: for records
/// where a default stands in badly for a mistake (a limit whose mode is unreadable must not quietly enforce).
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class StrictAttribute : Attribute;

/// <summary>A record that may be written with nothing at all (<c>acme:</c>), meaning every key at its default.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class EmptyAllowedAttribute : Attribute;

/// <summary>
/// Checks across a record's keys that types cannot express (one of two keys, a key that rules another out), run by the
/// binder after the record's keys are bound. <see cref="Rules"/> implements <c>IBindingRules</c> for the record.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class BindingRulesAttribute(Type rules) : Attribute
{
    /// <summary>The rules' type; it has a parameterless constructor.</summary>
    public Type Rules { get; } = rules;
}

/// <summary>
/// Checks across the items of any list of this record (no two limits of one period, say), run by the binder after the
/// items are bound. <see cref="Rules"/> implements <c>IListRules</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class ListRulesAttribute(Type rules) : Attribute
{
    /// <summary>The rules' type; it has a parameterless constructor.</summary>
    public Type Rules { get; } = rules;
}

/// <summary>
/// How the configuration reference names the key's type when its CLR type says too little (<c>template</c>,
/// <c>operation id</c>, <c>URL</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class DocTypeAttribute(string text) : Attribute
{
    /// <summary>The type as the reference shows it (Markdown).</summary>
    public string Text { get; } = text;
}

/// <summary>
/// How the configuration reference states the key's default when its value says too little: a default that is
/// computed (<c>the route's path</c>) or that means something (<c>system store</c> for a null CA file).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class DefaultTextAttribute(string text) : Attribute
{
    /// <summary>The default as the reference shows it (Markdown).</summary>
    public string Text { get; } = text;
}
