using System.Globalization;
using Gatehouse.Model.Schema;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>
/// Binds a YAML/JSON tree to the config records by their shape (<see cref="RecordShape"/>): the records are the one
/// source of keys, types, defaults and rules, and this walks them. Every problem is reported with its path and line
/// and binding goes on, so a document's mistakes are all reported at once. A record whose required key is missing or
/// broken is left out (so later checks do not repeat its error), and so is a <see cref="StrictAttribute"/> record with any
/// key broken; any other key that cannot be bound keeps its default.
/// The few shapes types cannot say are the records' <see cref="IBindingRules"/>.
/// </summary>
internal sealed class ConfigBinder(YamlBinder b, string baseDirectory)
{
    private static readonly HashSet<string> NoKeys = [];
    private readonly Dictionary<string, HashSet<string>> _broken = new(StringComparer.Ordinal);

    /// <summary>Scalar readers and the error list.</summary>
    public YamlBinder B => b;

    /// <summary>The folder relative file paths are read from.</summary>
    public string BaseDirectory => baseDirectory;

    /// <summary>Reads a service's <c>openapi</c>, <c>operations</c> and <c>publish</c> (hand-written: they feed OpenAPI import).</summary>
    public OperationsReader Operations { get; } = new(b, baseDirectory);

    /// <summary>Reads <c>compositions</c> (hand-written: the template language).</summary>
    public CompositionReader Compositions { get; } = new(b);

    /// <summary>Names written under the mapping at <paramref name="path"/> (<c>services</c>) whose definition could not be bound.</summary>
    public IReadOnlySet<string> Broken(string path) => _broken.TryGetValue(path, out var names) ? names : NoKeys;

    /// <summary>Binds <paramref name="node"/> as a <typeparamref name="T"/>; null when it is broken (reported).</summary>
    public T? Bind<T>(YamlNode node, string path)
        where T : class => (T?)BindRecord(RecordShape.Of(typeof(T)), node, path, null);

    /// <summary>Binds <paramref name="node"/> as a value of <paramref name="shape"/>; null when it could not be bound (reported).</summary>
    public object? BindValue(ValueShape shape, YamlNode node, string path, KeyShape? key = null) => shape.Kind switch
    {
        ValueKind.Text => Text(node, path, key),
        ValueKind.Integer => Integer(shape, node, path),
        ValueKind.Number => Number(shape, node, path),
        ValueKind.Size => Size(shape, node, path),
        ValueKind.Boolean => b.Bool(node, path),
        ValueKind.Duration => Duration(shape, node, path),
        ValueKind.DateTime => DateTime(node, path),
        ValueKind.Enum => Enum(shape, node, path),
        ValueKind.List => List(shape, node, path),
        ValueKind.Map => Map(shape, node, path),
        ValueKind.Record => BindRecord(shape.Record, node, path, null),
        _ => throw new NotSupportedException($"{path}: the generic binder cannot bind {shape.Type}; give the key a type it binds, or mark it BoundByRules and bind it in its record's rules."),
    };

    private object? BindRecord(RecordShape shape, YamlNode node, string path, string? name)
    {
        if (node is YamlScalarNode scalar)
        {
            if (shape.EmptyAllowed && string.IsNullOrEmpty(scalar.Value))
            {
                return Check(shape, shape.Create(), node, path, new Dictionary<string, YamlNode>(), NoKeys, name);
            }

            if (shape.Shorthand is { } shorthand)
            {
                if (BindValue(shorthand.Value, node, path, shorthand) is not { } value)
                {
                    return null;
                }

                var record = shape.Create();
                shorthand.Set(record, value);
                return record;
            }
        }

        var map = b.Mapping(node, path, shape.KeyNames);
        if (map is null)
        {
            return null;
        }

        var bound = shape.Create();
        var broken = false;
        HashSet<string>? failed = null;
        foreach (var key in shape.Keys)
        {
            if (key.BoundByRules)
            {
                continue;
            }

            if (!map.TryGetValue(key.Name, out var valueNode))
            {
                if (key.Required)
                {
                    b.Error(YamlBinder.Join(path, key.Name), node, key.RequiredWhat is null ? $"'{key.Name}' is required here." : $"'{key.Name}' is required: {key.RequiredWhat}.");
                    broken = true;
                }

                continue;
            }

            var keyPath = YamlBinder.Join(path, key.Name);
            var value = BindValue(key.Value, valueNode, keyPath, key);
            if (value is string { Length: 0 } && key.NonEmpty)
            {
                b.Error(keyPath, valueNode, key.RequiredWhat is null ? $"'{key.Name}' must not be empty." : $"'{key.Name}' must not be empty: {key.RequiredWhat}.");
                value = null;
            }

            if (value is null)
            {
                (failed ??= new HashSet<string>(StringComparer.Ordinal)).Add(key.Name);
                broken |= key.Required || shape.Strict;
                continue;
            }

            key.Set(bound, value);
        }

        var result = Check(shape, bound, node, path, map, failed ?? NoKeys, name);
        return broken ? null : result;
    }

    private object? Check(RecordShape shape, object record, YamlNode node, string path, IReadOnlyDictionary<string, YamlNode> map, IReadOnlySet<string> failed, string? name) =>
        shape.Rules is { } rules ? rules.Check(record, new BindingScope(this, node, path, map, failed, name)) : record;

    private string? Text(YamlNode node, string path, KeyShape? key)
    {
        var text = b.String(node, path);
        return text is { Length: > 0 } && key?.FilePath == true ? Path.GetFullPath(text, baseDirectory) : text;
    }

    private object? Integer(ValueShape shape, YamlNode node, string path)
    {
        var text = b.String(node, path);
        if (text is null)
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            || (shape.Type == typeof(int) && value is < int.MinValue or > int.MaxValue))
        {
            b.Error(path, node, $"expected a whole number; found '{text}'.");
            return null;
        }

        if (shape.Minimum is { } min && value < min)
        {
            b.Error(path, node, $"must be at least {min}; found {value}.");
            return null;
        }

        return shape.Type == typeof(int) ? (object)(int)value : value;
    }

    private object? Number(ValueShape shape, YamlNode node, string path)
    {
        var text = b.String(node, path);
        if (text is null)
        {
            return null;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            b.Error(path, node, shape.Share ? $"expected a share from 0 to 1, such as 0.01 for one in a hundred; found '{text}'." : $"expected a number; found '{text}'.");
            return null;
        }

        if (shape.Share && value is < 0 or > 1)
        {
            b.Error(path, node, $"expected a share from 0 to 1, such as 0.01 for one in a hundred; found {text}.");
            return null;
        }

        if (shape.Minimum is { } min && value < min)
        {
            b.Error(path, node, $"must be at least {min}; found {text}.");
            return null;
        }

        return value;
    }

    private object? Size(ValueShape shape, YamlNode node, string path)
    {
        if (b.Size(node, path) is not { } size)
        {
            return null;
        }

        if (shape.Type == typeof(int))
        {
            if (size > int.MaxValue)
            {
                b.Error(path, node, "must be under 2GB.");
                return null;
            }

            return (int)size;
        }

        return size;
    }

    private object? Duration(ValueShape shape, YamlNode node, string path)
    {
        if (!shape.ZeroAllowed)
        {
            return b.Duration(node, path);
        }

        var text = b.String(node, path);
        if (text is null)
        {
            return null;
        }

        if (Units.TryParseDuration(text, out var value) && value >= TimeSpan.Zero)
        {
            return value;
        }

        b.Error(path, node, $"expected a duration such as '0s', '30s' or '2m'; found '{text}'.");
        return null;
    }

    private object? DateTime(YamlNode node, string path)
    {
        var text = b.String(node, path);
        if (text is null)
        {
            return null;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            return at;
        }

        b.Error(path, node, $"expected a date and time such as '2027-01-31T00:00:00Z'; found '{text}'.");
        return null;
    }

    private object? Enum(ValueShape shape, YamlNode node, string path)
    {
        var text = b.String(node, path);
        if (text is null)
        {
            return null;
        }

        foreach (var (name, value) in shape.EnumValues)
        {
            if (string.Equals(name, text, StringComparison.Ordinal))
            {
                return value;
            }
        }

        b.Error(path, node, $"'{text}' is not one of {string.Join(", ", shape.EnumNames)}.");
        return null;
    }

    private object? List(ValueShape shape, YamlNode node, string path)
    {
        var element = shape.Element!;
        var list = shape.NewList();
        if (shape.OneOrMany && node is YamlScalarNode)
        {
            if (BindValue(element, node, path) is not { } one)
            {
                return null;
            }

            list.Add(one);
            return list;
        }

        if (node is not YamlSequenceNode)
        {
            _ = b.Sequence(node, path).Any(); // reports "expected a list"
            return null;
        }

        var rules = element.Kind == ValueKind.Record ? element.Record.ListRules : null;
        List<(object, YamlNode, string)>? items = rules is null ? null : [];
        foreach (var (item, itemPath) in b.Sequence(node, path))
        {
            if (BindValue(element, item, itemPath) is { } value)
            {
                if (items is null)
                {
                    list.Add(value);
                }
                else
                {
                    items.Add((value, item, itemPath));
                }
            }
        }

        if (items is not null)
        {
            foreach (var kept in rules!.Check(items, b))
            {
                list.Add(kept);
            }
        }

        return list;
    }

    private object? Map(ValueShape shape, YamlNode node, string path)
    {
        var element = shape.Element!;
        var map = shape.NewMap();
        if (shape.FreeKeys)
        {
            if (b.Mapping(node, path) is not { } entries)
            {
                return null;
            }

            foreach (var (key, value) in entries)
            {
                if (BindValue(element, value, YamlBinder.Join(path, key)) is { } bound)
                {
                    map[key] = bound;
                }
            }

            return map;
        }

        if (node is not YamlMappingNode)
        {
            _ = b.NamedEntries(node, path).Any(); // reports "expected a mapping of names"
            return null;
        }

        foreach (var (name, value, entryPath) in b.NamedEntries(node, path))
        {
            var bound = element.Kind == ValueKind.Record ? BindRecord(element.Record, value, entryPath, name) : BindValue(element, value, entryPath);
            if (bound is null)
            {
                if (!_broken.TryGetValue(path, out var names))
                {
                    _broken[path] = names = new HashSet<string>(StringComparer.Ordinal);
                }

                names.Add(name);
                continue;
            }

            map[name] = bound;
        }

        return map;
    }
}
