using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Schema;

/// <summary>What kind of value a config key holds, as the binder, the schema and the reference see it.</summary>
public enum ValueKind
{
    /// <summary>Text.</summary>
    Text,
    /// <summary>A whole number.</summary>
    Integer,
    /// <summary>A number that may have a fraction (<c>0.25</c>).</summary>
    Number,
    /// <summary>true or false.</summary>
    Boolean,
    /// <summary>A duration: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>1d</c>; a bare number is seconds.</summary>
    Duration,
    /// <summary>A size in bytes, or with a unit.</summary>
    Size,
    /// <summary>One of a set of names.</summary>
    Enum,
    /// <summary>A date and time (ISO 8601).</summary>
    DateTime,
    /// <summary>A list.</summary>
    List,
    /// <summary>A mapping of names (or free keys) to values.</summary>
    Map,
    /// <summary>A mapping with known keys: a config record.</summary>
    Record,
    /// <summary>A shape the record's binding rules read themselves (<see cref="BoundByRulesAttribute"/>).</summary>
    Custom,
}

/// <summary>
/// The shape of one config record type: its keys in declaration order, with what each holds. Read by reflection once
/// per type and cached; binding then uses compiled constructors and setters, not reflection per value.
/// </summary>
public sealed class RecordShape
{
    private static readonly ConcurrentDictionary<Type, RecordShape> Cache = new();
    private readonly Func<object> _create;

    private RecordShape(Type type)
    {
        Type = type;
        _create = Expression.Lambda<Func<object>>(Expression.Convert(Expression.New(type), typeof(object))).Compile();
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } && p.GetCustomAttribute<NotConfigAttribute>() is null)
            .OrderBy(p => p.MetadataToken)
            .Select(p => new KeyShape(p))
            .ToArray();
        Keys = properties;
        KeyNames = [.. properties.Select(p => p.Name)];
        Shorthand = type.GetCustomAttribute<ShorthandAttribute>() is { } s ? properties.Single(p => p.Property.Name == s.Property) : null;
        EmptyAllowed = type.GetCustomAttribute<EmptyAllowedAttribute>() is not null;
        Strict = type.GetCustomAttribute<StrictAttribute>() is not null;
        Rules = type.GetCustomAttribute<BindingRulesAttribute>() is { } r ? (IBindingRules)Activator.CreateInstance(r.Rules)! : null;
        ListRules = type.GetCustomAttribute<ListRulesAttribute>() is { } l ? (IListRules)Activator.CreateInstance(l.Rules)! : null;
    }

    /// <summary>The record type.</summary>
    public Type Type { get; }

    /// <summary>The keys, in the order the record declares them.</summary>
    public IReadOnlyList<KeyShape> Keys { get; }

    /// <summary>The keys' names, in order: the keys allowed in the record's mapping.</summary>
    public string[] KeyNames { get; }

    /// <summary>The key a lone text value sets, or null.</summary>
    public KeyShape? Shorthand { get; }

    /// <summary>Whether a key that cannot be bound leaves the whole record out (rather than at its default).</summary>
    public bool Strict { get; }

    /// <summary>Whether the record may be written as nothing at all.</summary>
    public bool EmptyAllowed { get; }

    internal IBindingRules? Rules { get; }

    internal IListRules? ListRules { get; }

    /// <summary>The shape of <paramref name="type"/>.</summary>
    public static RecordShape Of(Type type) => Cache.GetOrAdd(type, static t => new RecordShape(t));

    /// <summary>A new instance with every key at its default.</summary>
    public object Create() => _create();

    /// <summary>True for the types that config records are (sealed records in Gatehouse.Model.Config).</summary>
    public static bool IsRecord(Type type) => type.IsClass && type != typeof(string) && type.Namespace == "Gatehouse.Model.Config";
}

/// <summary>One key of a config record.</summary>
public sealed class KeyShape
{
    private readonly Action<object, object?> _set;
    private readonly Func<object, object?> _get;

    internal KeyShape(PropertyInfo property)
    {
        Property = property;
        Name = property.GetCustomAttribute<ConfigKeyAttribute>()?.Name ?? Units.CamelCase(property.Name);
        var byRules = property.GetCustomAttribute<BoundByRulesAttribute>();
        BoundByRules = byRules is not null;
        CustomSchema = byRules?.Schema;
        Value = byRules is null ? ValueShape.Of(property.PropertyType, property) : ValueShape.Custom(property.PropertyType);
        var required = property.GetCustomAttribute<RequiredKeyAttribute>();
        Required = required is not null;
        RequiredWhat = required?.What;
        NonEmpty = Required || property.GetCustomAttribute<NonEmptyAttribute>() is not null;
        FilePath = property.GetCustomAttribute<FilePathAttribute>() is not null;

        var target = Expression.Parameter(typeof(object));
        var value = Expression.Parameter(typeof(object));
        var typed = Expression.Convert(target, property.DeclaringType!);
        _set = Expression.Lambda<Action<object, object?>>(
            Expression.Assign(Expression.Property(typed, property), Expression.Convert(value, property.PropertyType)), target, value).Compile();
        _get = Expression.Lambda<Func<object, object?>>(Expression.Convert(Expression.Property(typed, property), typeof(object)), target).Compile();
    }

    /// <summary>The property behind the key.</summary>
    public PropertyInfo Property { get; }

    /// <summary>The key as users write it.</summary>
    public string Name { get; }

    /// <summary>What the key holds.</summary>
    public ValueShape Value { get; }

    /// <summary>The key must be written.</summary>
    public bool Required { get; }

    /// <summary>What a required key is, for its error message.</summary>
    public string? RequiredWhat { get; }

    /// <summary>A text value must not be empty when written.</summary>
    public bool NonEmpty { get; }

    /// <summary>A relative path is made absolute against the config file's folder.</summary>
    public bool FilePath { get; }

    /// <summary>The record's rules bind this key, not the generic binder.</summary>
    public bool BoundByRules { get; }

    /// <summary>For a key the rules bind: its JSON Schema as JSON text, or null to make it from the property's type.</summary>
    public string? CustomSchema { get; }

    internal void Set(object record, object? value) => _set(record, value);

    internal object? Get(object record) => _get(record);
}

/// <summary>What a value (a key's, or a list item's, or a map entry's) holds.</summary>
public sealed class ValueShape
{
    private ValueShape(ValueKind kind, Type type, ValueShape? element, bool nullable)
    {
        Kind = kind;
        Type = type;
        Element = element;
        Nullable = nullable;
    }

    /// <summary>The kind of value.</summary>
    public ValueKind Kind { get; private init; }

    /// <summary>The CLR type bound (without <see cref="Nullable{T}"/>).</summary>
    public Type Type { get; }

    /// <summary>For a list or a map: the shape of its items.</summary>
    public ValueShape? Element { get; }

    /// <summary>The property may be null (absent).</summary>
    public bool Nullable { get; }

    /// <summary>For a whole number: the minimum, or null.</summary>
    public long? Minimum { get; private init; }

    /// <summary>For a number: it is a share, from 0 to 1.</summary>
    public bool Share { get; private init; }

    /// <summary>For a list: one value may stand for a list of one.</summary>
    public bool OneOrMany { get; private init; }

    /// <summary>For a map: its keys are free text, not names.</summary>
    public bool FreeKeys { get; private init; }

    /// <summary>For a duration: zero is allowed.</summary>
    public bool ZeroAllowed { get; private init; }

    /// <summary>For an enum: the names users write, in declaration order.</summary>
    public IReadOnlyList<string> EnumNames => [.. EnumValues.Select(v => v.Name)];

    /// <summary>For an enum: each name users write, with its value (made once: binding reads many).</summary>
    internal (string Name, object Value)[] EnumValues => _enumValues ??= Kind == ValueKind.Enum
        ? [.. Enum.GetValues(Type).Cast<object>().Select(v => (Units.CamelCase(v.ToString()!), v))]
        : [];

    /// <summary>For a record: its shape.</summary>
    public RecordShape Record => _record ??= RecordShape.Of(Type);

    private (string Name, object Value)[]? _enumValues;
    private RecordShape? _record;

    /// <summary>For a list: a new, empty list of its items' type.</summary>
    internal System.Collections.IList NewList() => (_newList ??= Factory<System.Collections.IList>(typeof(List<>).MakeGenericType(Element!.Type), null))();

    /// <summary>For a map: a new, empty dictionary of its items' type, with ordinal keys.</summary>
    internal System.Collections.IDictionary NewMap() =>
        (_newMap ??= Factory<System.Collections.IDictionary>(typeof(Dictionary<,>).MakeGenericType(typeof(string), Element!.Type), typeof(IEqualityComparer<string>)))();

    private Func<System.Collections.IList>? _newList;
    private Func<System.Collections.IDictionary>? _newMap;

    // A compiled constructor call: binding 100,000 applications makes hundreds of thousands of lists and maps.
    private static Func<T> Factory<T>(Type type, Type? comparer)
    {
        var ctor = comparer is null ? type.GetConstructor(Type.EmptyTypes)! : type.GetConstructor([comparer])!;
        NewExpression create = comparer is null ? Expression.New(ctor) : Expression.New(ctor, Expression.Constant(StringComparer.Ordinal, comparer));
        return Expression.Lambda<Func<T>>(Expression.Convert(create, typeof(T))).Compile();
    }

    internal static ValueShape Custom(Type type) => new(ValueKind.Custom, type, null, true);

    internal static ValueShape Of(Type declared, PropertyInfo? on)
    {
        var underlying = System.Nullable.GetUnderlyingType(declared);
        var type = underlying ?? declared;
        var nullable = underlying is not null || !type.IsValueType;
        var shape = Classify(type, nullable, on);
        return on is null ? shape : new ValueShape(shape.Kind, shape.Type, shape.Element, shape.Nullable)
        {
            Minimum = on.GetCustomAttribute<MinimumAttribute>()?.Value,
            Share = on.GetCustomAttribute<ShareAttribute>() is not null,
            OneOrMany = on.GetCustomAttribute<OneOrManyAttribute>() is not null,
            FreeKeys = on.GetCustomAttribute<FreeKeysAttribute>() is not null,
            ZeroAllowed = on.GetCustomAttribute<ZeroAllowedAttribute>() is not null,
            Kind = shape.Kind == ValueKind.Integer && on.GetCustomAttribute<SizeAttribute>() is not null ? ValueKind.Size : shape.Kind,
        };
    }

    private static ValueShape Classify(Type type, bool nullable, PropertyInfo? on)
    {
        if (type == typeof(string))
        {
            return new(ValueKind.Text, type, null, nullable);
        }

        if (type == typeof(int) || type == typeof(long))
        {
            return new(ValueKind.Integer, type, null, nullable);
        }

        if (type == typeof(double))
        {
            return new(ValueKind.Number, type, null, nullable);
        }

        if (type == typeof(bool))
        {
            return new(ValueKind.Boolean, type, null, nullable);
        }

        if (type == typeof(TimeSpan))
        {
            return new(ValueKind.Duration, type, null, nullable);
        }

        if (type == typeof(DateTimeOffset))
        {
            return new(ValueKind.DateTime, type, null, nullable);
        }

        if (type.IsEnum)
        {
            return new(ValueKind.Enum, type, null, nullable);
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            return new(ValueKind.List, type, Of(type.GetGenericArguments()[0], null), nullable);
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>) && type.GetGenericArguments()[0] == typeof(string))
        {
            return new(ValueKind.Map, type, Of(type.GetGenericArguments()[1], null), nullable);
        }

        if (RecordShape.IsRecord(type))
        {
            return new(ValueKind.Record, type, null, nullable);
        }

        // A type the generic binder does not bind (a JSON template, a map keyed by numbers): only a key its record's
        // rules bind may have it, and the binder refuses it otherwise (see ConfigBinder.BindValue).
        return new(ValueKind.Custom, type, null, nullable);
    }
}
