using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>
/// Checks across the keys of one record type that its types cannot say (see
/// <see cref="Schema.BindingRulesAttribute"/>), and the binding of keys marked
/// <see cref="Schema.BoundByRulesAttribute"/>. Kept small: everything a type or an attribute can say lives on the record.
/// </summary>
internal interface IBindingRules
{
    /// <summary>
    /// Runs after the record's other keys are bound. Returns the record to keep (changed or not), or null when it is
    /// broken; every error is reported through <see cref="BindingScope.Binder"/> first.
    /// </summary>
    object? Check(object record, BindingScope scope);
}

/// <summary>Typed base for <see cref="IBindingRules"/>.</summary>
internal abstract class BindingRules<T> : IBindingRules
    where T : class
{
    public object? Check(object record, BindingScope scope) => Check((T)record, scope);

    protected abstract T? Check(T record, BindingScope scope);
}

/// <summary>Where a record is being bound: its node and path, its keys as written, and which of them failed to bind.</summary>
internal sealed class BindingScope(ConfigBinder binder, YamlNode node, string path, IReadOnlyDictionary<string, YamlNode> map, IReadOnlySet<string> failed, string? name)
{
    /// <summary>The binder: errors, scalar readers, and the readers of hand-written shapes.</summary>
    public ConfigBinder Binder { get; } = binder;

    /// <summary>The record's node.</summary>
    public YamlNode Node { get; } = node;

    /// <summary>The record's path (<c>routes.users</c>).</summary>
    public string Path { get; } = path;

    /// <summary>The record's keys as written.</summary>
    public IReadOnlyDictionary<string, YamlNode> Map { get; } = map;

    /// <summary>The record's name when it is an entry of a mapping of names (the service's name), else null.</summary>
    public string? Name { get; } = name;

    /// <summary>The scalar readers and the error list.</summary>
    public YamlBinder B => Binder.B;

    /// <summary>Whether <paramref name="key"/> is written.</summary>
    public bool Has(string key) => Map.ContainsKey(key);

    /// <summary>Whether <paramref name="key"/> is written but could not be bound (its error is already reported).</summary>
    public bool Failed(string key) => failed.Contains(key);

    /// <summary>The path of <paramref name="key"/>.</summary>
    public string At(string key) => YamlBinder.Join(Path, key);

    /// <summary>Reports an error at <paramref name="key"/> (at the record's node when the key is not written).</summary>
    public void Error(string key, string message) => B.Error(At(key), Map.GetValueOrDefault(key) ?? Node, message);
}

/// <summary>Checks across the items of a list of one record type (see <see cref="Schema.ListRulesAttribute"/>).</summary>
internal interface IListRules
{
    /// <summary>The items to keep, in order; each one left out is reported through <paramref name="b"/> first.</summary>
    IEnumerable<object> Check(IReadOnlyList<(object Value, YamlNode Node, string Path)> items, YamlBinder b);
}
