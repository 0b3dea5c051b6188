using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Model.Compositions;

/// <summary>
/// Finds where a reference starts: the value its root stands for, and how many of its segments that value already
/// accounts for (a request value is looked up whole; a step gives the body, status or headers its reference names).
/// </summary>
public delegate ElementValue ElementRootResolver(ValueRef reference, out int consumed);

/// <summary>
/// Evaluates compiled <see cref="Template"/>s against the values of one request, as <see cref="ElementValue"/>s:
/// values found by references are borrowed <see cref="JsonElement"/>s that are never copied, and <see cref="Write(Template, Utf8JsonWriter, string?, ElementValue)"/> writes the answer straight to a
/// <see cref="Utf8JsonWriter"/>. Only what must be a value is built: what a later field reads as <c>@this.NAME</c>,
/// and the results of <c>@merge</c>, <c>@sum</c> and reshaping. Not thread-safe: one per request.
/// </summary>
public sealed partial class ElementEvaluator(ElementRootResolver roots)
{
    private const string This = "this";

    // Made on the first binding: most evaluators a request makes (a step's path, query or body) bind nothing.
    private (string Name, ElementValue Value)[] _bindings = [];
    private int _bound;
    // By template object: a lookup's source and key are fixed, so its index is too (no hashing of the reference record).
    // The first lookup's index is kept apart: most answers have one, and a dictionary of one costs more than it.
    private LookupTemplate? _firstIndexed;
    private Dictionary<string, ElementValue>? _firstIndex;
    private Dictionary<LookupTemplate, Dictionary<string, ElementValue>>? _indexes;

    /// <summary>Evaluates <paramref name="template"/> to a value, with <paramref name="name"/> bound to <paramref name="value"/> when a name is given.</summary>
    public ElementValue Evaluate(Template template, string? name = null, ElementValue value = default)
    {
        Enter(name, value);
        return Value(template);
    }

    /// <summary>Writes what <paramref name="template"/> evaluates to; the same bytes as <see cref="Evaluate"/> then <see cref="ElementValue.WriteTo"/>.</summary>
    public void Write(Template template, Utf8JsonWriter writer, string? name = null, ElementValue value = default)
    {
        Enter(name, value);
        Write(template, writer);
    }

    /// <summary>Every value a reference reaches: one for a plain reference, each match for one with <c>[*]</c>.</summary>
    public void ResolveMany(ValueRef r, List<ElementValue> into, string? name = null, ElementValue value = default)
    {
        Enter(name, value);
        Walk(Start(r, out var consumed, out _), r.Segments, consumed, into);
    }

    private void Enter(string? name, ElementValue value)
    {
        _bound = 0;
        if (name is not null)
        {
            Push(name, value);
        }
    }

    private void Push(string name, ElementValue value)
    {
        if (_bound == _bindings.Length)
        {
            Array.Resize(ref _bindings, Math.Max(8, _bound * 2));
        }

        _bindings[_bound++] = (name, value);
    }

    private void Pop() => _bound--;

    /// <summary>The value a reference's root stands for; <paramref name="bound"/> when a binding (not the resolver) gave it.</summary>
    private ElementValue Start(ValueRef r, out int consumed, out bool bound)
    {
        consumed = 0;
        for (var i = _bound - 1; i >= 0; i--)
        {
            if (_bindings[i].Name == r.Root)
            {
                bound = true;
                var value = _bindings[i].Value;
                // The object being built is read as it is now: a copy, never the live list.
                return r.Segments.Count == 0 && r.Root == This ? value.Snapshot() : value;
            }
        }

        bound = false;
        return roots(r, out consumed);
    }

    private static void Walk(ElementValue value, IReadOnlyList<RefSegment> segments, int at, List<ElementValue> into)
    {
        for (var i = at; i < segments.Count; i++)
        {
            var s = segments[i];
            switch (s.Kind)
            {
                case RefSegmentKind.Field:
                    value = value.Field(s.Name, s.Utf8Name);
                    break;
                case RefSegmentKind.Index:
                    value = value.At(s.Index);
                    break;
                default:
                    foreach (var element in value.EnumerateItems())
                    {
                        Walk(element, segments, i + 1, into);
                    }

                    return;
            }
        }

        into.Add(value);
    }

    /// <summary>The one value a reference without <c>[*]</c> reaches.</summary>
    private ElementValue Single(ValueRef r, out bool bound)
    {
        var value = Start(r, out var consumed, out bound);
        var segments = r.Segments;
        for (var i = consumed; i < segments.Count; i++)
        {
            var s = segments[i];
            value = s.Kind == RefSegmentKind.Field ? value.Field(s.Name, s.Utf8Name) : value.At(s.Index);
        }

        return value;
    }

    private ElementValue Reference(ValueRef r)
    {
        if (!r.HasWildcard)
        {
            return Single(r, out _);
        }

        var list = new List<ElementValue>();
        Walk(Start(r, out var consumed, out _), r.Segments, consumed, list);
        return ElementValue.List(list);
    }

    /// <summary>A value whose items a source template stands for (enumerate it: anything but an array has none).</summary>
    private ElementValue Source(Template source) => source is RefTemplate { Ref: var r } ? Reference(r) : Value(source);

    private ElementValue Value(Template t)
    {
        switch (t)
        {
            case LiteralTemplate l:
                return ElementValue.Node(l.Value);
            case RefTemplate r:
                return Reference(r.Ref);
            case ArrayTemplate a:
                var items = new List<ElementValue>(a.Items.Count);
                for (var i = 0; i < a.Items.Count; i++)
                {
                    items.Add(Value(a.Items[i]));
                }

                return ElementValue.List(items);
            case ObjectTemplate o:
                return Fields(new(o.Fields.Count), o.Fields);
            case EachTemplate e:
                var source = Source(e.Source);
                var mapped = new List<ElementValue>(source.ItemCountOrZero());
                foreach (var element in source.EnumerateItems())
                {
                    Push(e.Alias, element);
                    mapped.Add(Value(e.Element));
                    Pop();
                }

                return ElementValue.List(mapped);
            case LookupTemplate l:
                return Lookup(l);
            case MergeTemplate m:
                // By name, so that merging a backend's object of many fields stays linear (Set scans the list).
                var merged = new OrderedDictionary<string, ElementValue>(StringComparer.Ordinal);
                for (var i = 0; i < m.Parts.Count; i++)
                {
                    var value = Value(m.Parts[i]);
                    if (value.IsObject)
                    {
                        foreach (var (k, v) in value.EnumerateFields())
                        {
                            merged[k] = v;
                        }
                    }
                }

                return ElementValue.Fields([.. merged]);
            case SumTemplate s:
                return Sum(s);
            case ShapeTemplate shape:
                return Shape(shape);
            case ConversionTemplate conversion:
                return Convert(conversion);
            default:
                throw new InvalidOperationException($"unknown template {t.GetType().Name}");
        }
    }

    private ElementValue Fields(List<KeyValuePair<string, ElementValue>> target, IReadOnlyList<KeyValuePair<string, Template>> fields)
    {
        if (fields.Count == 0)
        {
            // Nothing to evaluate, so nothing reads @this: no binding (one level less of the bindings' stack).
            return ElementValue.Fields(target);
        }

        Push(This, ElementValue.Fields(target));
        // Indexed, not foreach: the template's lists are IReadOnlyLists, whose enumerators are boxed.
        for (var i = 0; i < fields.Count; i++)
        {
            var (key, template) = fields[i];
            ElementValue.Set(target, key, Value(template));
        }

        Pop();
        return ElementValue.Fields(target);
    }

    private ElementValue Lookup(LookupTemplate l)
    {
        // The key as chars without a string when it is a short scalar (ids mostly).
        Span<char> scratch = stackalloc char[ElementValue.KeyScratchLength];
        var by = Value(l.By).KeyChars(scratch);
        if (l.Source is RefTemplate { Ref: { HasWildcard: false } sr })
        {
            var shared = Single(sr, out var bound);
            if (!shared.IsArray)
            {
                return default;
            }

            if (!bound)
            {
                return Index(l, shared).GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(by, out var found) ? found : default;
            }

            return First(shared, l, by);
        }

        return First(Source(l.Source), l, by);
    }

    /// <summary>A step's array is the same for the whole answer: one index per reference and key, built on first use.</summary>
    private Dictionary<string, ElementValue> Index(LookupTemplate l, ElementValue shared)
    {
        if (ReferenceEquals(_firstIndexed, l))
        {
            return _firstIndex!;
        }

        if (_indexes is not null && _indexes.TryGetValue(l, out var index))
        {
            return index;
        }

        index = new(shared.ItemCountOrZero());
        var utf8Key = l.KeyUtf8;
        foreach (var element in shared.EnumerateItems())
        {
            if (element.TryGetField(l.Key, utf8Key, out var k))
            {
                index.TryAdd(k.Key(), element);
            }
        }

        if (_firstIndexed is null)
        {
            (_firstIndexed, _firstIndex) = (l, index);
        }
        else
        {
            (_indexes ??= new(ReferenceEqualityComparer.Instance))[l] = index;
        }

        return index;
    }

    private static ElementValue First(ElementValue array, LookupTemplate l, ReadOnlySpan<char> by)
    {
        var utf8Key = l.KeyUtf8;
        foreach (var element in array.EnumerateItems())
        {
            if (element.TryGetField(l.Key, utf8Key, out var k) && by.SequenceEqual(k.Key()))
            {
                return element;
            }
        }

        return default;
    }

    private ElementValue Sum(SumTemplate s)
    {
        var total = 0m;
        var utf8 = s.OfUtf8;
        foreach (var element in Source(s.Source).EnumerateItems())
        {
            var product = 1m;
            for (var p = 0; p < s.Of.Count; p++)
            {
                var path = s.Of[p];
                var utf8Path = utf8?[p];
                var value = element;
                for (var n = 0; n < path.Length; n++)
                {
                    value = value.Field(path[n], utf8Path?[n]);
                }

                product *= value.ToDecimal() ?? 0m;
            }

            total += product;
        }

        return ElementValue.Number(total);
    }

    private ElementValue Shape(ShapeTemplate s)
    {
        var (value, owned) = s.Base switch
        {
            RefTemplate { Ref: { HasWildcard: false } r } => (Single(r, out _), false),
            LookupTemplate l => (Lookup(l), false),
            _ => (Value(s.Base), true),
        };
        if (!value.IsObject)
        {
            // Reshaping applies to objects; anything else (null for a missing step) passes through.
            return value;
        }

        if (value.Kind == ElementValueKind.Element && s.Select is null && s.Omit is null && s.Rename is null)
        {
            // A borrowed object with fields beside it (an order item and its product): an overlay, not a copy.
            List<KeyValuePair<string, ElementValue>> set = new(s.Extra.Count);
            var extended = ElementValue.Extended(value.Element, set);
            Push(This, extended);
            for (var i = 0; i < s.Extra.Count; i++)
            {
                var (key, template) = s.Extra[i];
                ElementValue.Set(set, key, Value(template));
            }

            Pop();
            return extended;
        }

        if (value.Kind == ElementValueKind.Element && s.Selection is { } selection && s.Omit is null && s.Rename is null && s.Extra.Count == 0)
        {
            // Only an @select of a borrowed object (a joined product): a view through the names, not a copy of the fields.
            return ElementValue.Selected(value.Element, selection);
        }

        // The written keys first, each seeing the whole base and the keys above it as @this (docs/compositions.md,
        // "Templates": they are evaluated before @select, @omit and @rename shape the result).
        List<KeyValuePair<string, ElementValue>>? written = null;
        List<KeyValuePair<string, ElementValue>>? all = null;
        if (s.Extra.Count > 0)
        {
            written = new(s.Extra.Count);
            ElementValue self;
            if (value.Kind == ElementValueKind.Element)
            {
                // A borrowed object: seen through an overlay, not copied.
                self = ElementValue.Extended(value.Element, written);
            }
            else
            {
                all = owned && value.Kind == ElementValueKind.Fields ? value.FieldList : CopyFields(value, s.Extra.Count);
                self = ElementValue.Fields(all);
            }

            Push(This, self);
            for (var i = 0; i < s.Extra.Count; i++)
            {
                var (key, template) = s.Extra[i];
                var v = Value(template);
                ElementValue.Set(written, key, v);
                if (all is not null)
                {
                    ElementValue.Set(all, key, v);
                }
            }

            Pop();
        }

        List<KeyValuePair<string, ElementValue>> o;
        if (s.Selection is { } chosen)
        {
            // Each name once, read by its UTF-8; the written keys stay whatever @select names.
            o = new(chosen.Names.Length + s.Extra.Count);
            for (var i = 0; i < chosen.Names.Length; i++)
            {
                if (value.TryGetField(chosen.Names[i], chosen.Utf8[i], out var v))
                {
                    o.Add(new(chosen.Names[i], v));
                }
            }

            SetAll(o, written);
        }
        else if (s.Select is { } select)
        {
            // A name that is not valid UTF-16 (no selection was made of it): read by the strings, as always.
            o = new(select.Count + s.Extra.Count);
            for (var i = 0; i < select.Count; i++)
            {
                if (value.TryGetField(select[i], out var v))
                {
                    ElementValue.Set(o, select[i], v);
                }
            }

            SetAll(o, written);
        }
        else if (all is not null)
        {
            // Already the base's fields with the written keys set on them.
            o = all;
        }
        else if (owned && value.Kind == ElementValueKind.Fields)
        {
            // Built by this evaluation and referenced nowhere else: reshaped in place.
            o = value.FieldList;
            SetAll(o, written);
        }
        else
        {
            o = CopyFields(value, s.Extra.Count);
            SetAll(o, written);
        }

        var omit = s.Omit ?? [];
        for (var i = 0; i < omit.Count; i++)
        {
            ElementValue.Remove(o, omit[i]);
        }

        var rename = s.Rename ?? [];
        for (var i = 0; i < rename.Count; i++)
        {
            var (from, to) = rename[i];
            var at = o.FindIndex(0, o.Count, f => f.Key == from);
            if (at >= 0)
            {
                var v = o[at].Value;
                o.RemoveAt(at);
                ElementValue.Set(o, to, v);
            }
        }

        return ElementValue.Fields(o);
    }

    private static List<KeyValuePair<string, ElementValue>> CopyFields(ElementValue value, int extra)
    {
        var fields = new List<KeyValuePair<string, ElementValue>>(extra + 8);
        foreach (var field in value.EnumerateFields())
        {
            fields.Add(field);
        }

        return fields;
    }

    private static void SetAll(List<KeyValuePair<string, ElementValue>> into, List<KeyValuePair<string, ElementValue>>? fields)
    {
        if (fields is null)
        {
            return;
        }

        for (var i = 0; i < fields.Count; i++)
        {
            ElementValue.Set(into, fields[i].Key, fields[i].Value);
        }
    }

    private ElementValue Convert(ConversionTemplate c)
    {
        var value = c.Source is RefTemplate { Ref: { HasWildcard: false } r } ? Single(r, out _) : Value(c.Source);
        if (c.To == ValueConversion.String)
        {
            return value.Kind == ElementValueKind.String ? value : value.ScalarText() is { } text ? ElementValue.String(text) : ElementValue.Null;
        }

        if (value.IsNumber)
        {
            return value;
        }

        // A string that is a number becomes that number, written as the decimal it parses to; anything else has none.
        var s = value.IsString ? value.ScalarText() : null;
        return s is not null && IsNumberText(s) && decimal.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d)
            ? ElementValue.Number(d)
            : ElementValue.Null;
    }

    /// <summary>Whether <paramref name="s"/> is a JSON number (no spaces, no '+', no leading zeros, no hex or 'Infinity').</summary>
    private static bool IsNumberText(string s)
    {
        // The reader skips white space around a token; a number written with it is not one.
        if (s.Length == 0 || !(char.IsAsciiDigit(s[0]) || s[0] == '-') || !char.IsAsciiDigit(s[^1]))
        {
            return false;
        }

        var bytes = System.Text.Encoding.UTF8.GetBytes(s);
        var reader = new System.Text.Json.Utf8JsonReader(bytes);
        try
        {
            return reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.Number && reader.BytesConsumed == bytes.Length;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
