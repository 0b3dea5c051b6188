using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Model.Compositions;

/// <summary>
/// Finds where a reference starts: the node its root stands for, and how many of its segments that node already
/// accounts for (a request value is looked up whole; a step gives its <c>{status, headers, body}</c>, consuming none).
/// </summary>
public delegate JsonNode? RootResolver(ValueRef reference, out int consumed);

/// <summary>
/// Evaluates compiled <see cref="Template"/>s against the values of one request. Values found by references are
/// borrowed; everything returned is a fresh tree. Not thread-safe: one per request (it caches lookup indexes).
/// </summary>
public sealed class TemplateEvaluator(RootResolver roots)
{
    // Made on the first lookup: most evaluators (a step's URL values) never look anything up.
    private Dictionary<(JsonNode, string), Dictionary<string, JsonNode?>>? _indexes;

    private sealed record Binding(string Name, JsonNode? Value, Binding? Next);

    /// <summary>Evaluates <paramref name="template"/> with <paramref name="name"/> bound to <paramref name="value"/> when a name is given.</summary>
    public JsonNode? Evaluate(Template template, string? name = null, JsonNode? value = null) =>
        Eval(template, name is null ? null : new Binding(name, value, null));

    /// <summary>Every value a reference reaches: one for a plain reference, each match for one with <c>[*]</c>.</summary>
    public void ResolveMany(ValueRef r, List<JsonNode?> into, string? name = null, JsonNode? value = null) =>
        Walk(Start(r, name is null ? null : new Binding(name, value, null), out var consumed), r.Segments, consumed, into);

    /// <summary>A value as it is compared and deduplicated: strings by their text, numbers and booleans by their JSON text (so 1 equals "1").</summary>
    public static string KeyOf(JsonNode? node) => node switch
    {
        null => "null",
        JsonValue v => ScalarText(v) ?? v.ToJsonString(),
        _ => node.ToJsonString(),
    };

    /// <summary>
    /// A string's text, or a number's or boolean's JSON text, without <see cref="JsonNode.ToJsonString"/> (which sets
    /// up a writer and a buffer per call) for the values parsed from backends and the integers the templates make.
    /// Null for anything else, which callers write with <see cref="JsonNode.ToJsonString"/>.
    /// </summary>
    public static string? ScalarText(JsonValue value)
    {
        if (value.TryGetValue<JsonElement>(out var element))
        {
            return element.ValueKind switch
            {
                JsonValueKind.String => element.GetString(),
                JsonValueKind.Number => element.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => null,
            };
        }

        return value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Number when value.TryGetValue<decimal>(out var d) => DecimalText(d),
            JsonValueKind.Number when value.TryGetValue<int>(out var i) => i.ToString(CultureInfo.InvariantCulture),
            JsonValueKind.Number when value.TryGetValue<long>(out var l) => l.ToString(CultureInfo.InvariantCulture),
            _ => null,
        };
    }

    private JsonNode? Start(ValueRef r, Binding? b, out int consumed)
    {
        consumed = 0;
        for (var x = b; x is not null; x = x.Next)
        {
            if (x.Name == r.Root)
            {
                return x.Value;
            }
        }

        return roots(r, out consumed);
    }

    private static void Walk(JsonNode? node, IReadOnlyList<RefSegment> segments, int at, List<JsonNode?> into)
    {
        for (var i = at; i < segments.Count; i++)
        {
            var s = segments[i];
            switch (s.Kind)
            {
                case RefSegmentKind.Field:
                    node = node is JsonObject o && o.TryGetPropertyValue(s.Name, out var f) ? f : null;
                    break;
                case RefSegmentKind.Index:
                    node = node is JsonArray a && s.Index < a.Count ? a[s.Index] : null;
                    break;
                default:
                    if (node is JsonArray all)
                    {
                        foreach (var element in all)
                        {
                            Walk(element, segments, i + 1, into);
                        }
                    }

                    return;
            }
        }

        into.Add(node);
    }

    /// <summary>The one node a reference without <c>[*]</c> reaches (what <see cref="Walk"/> would add), without a list.</summary>
    private JsonNode? Single(ValueRef r, Binding? b)
    {
        var node = Start(r, b, out var consumed);
        var segments = r.Segments;
        for (var i = consumed; i < segments.Count; i++)
        {
            var s = segments[i];
            node = s.Kind == RefSegmentKind.Field
                ? node is JsonObject o && o.TryGetPropertyValue(s.Name, out var f) ? f : null
                : node is JsonArray a && s.Index < a.Count ? a[s.Index] : null;
        }

        return node;
    }

    private JsonNode? Borrow(ValueRef r, Binding? b)
    {
        if (!r.HasWildcard)
        {
            return Single(r, b);
        }

        var list = new List<JsonNode?>();
        Walk(Start(r, b, out var consumed), r.Segments, consumed, list);
        return new JsonArray([.. list.Select(n => n?.DeepClone())]);
    }

    /// <summary>The elements a source template stands for, borrowed where it is a reference.</summary>
    private List<JsonNode?> Elements(Template source, Binding? b)
    {
        var list = new List<JsonNode?>();
        if (source is RefTemplate { Ref: var r })
        {
            Walk(Start(r, b, out var consumed), r.Segments, consumed, list);
            if (!r.HasWildcard)
            {
                var single = list.Count == 0 ? null : list[0];
                list.Clear();
                if (single is JsonArray a)
                {
                    list.AddRange(a);
                }
            }

            return list;
        }

        if (Eval(source, b) is JsonArray evaluated)
        {
            list.AddRange(evaluated);
        }

        return list;
    }

    private JsonNode? Eval(Template t, Binding? b)
    {
        switch (t)
        {
            case LiteralTemplate l:
                return l.Value?.DeepClone();
            case RefTemplate r:
                return r.Ref.HasWildcard ? Borrow(r.Ref, b) : Borrow(r.Ref, b)?.DeepClone();
            case ArrayTemplate a:
                return new JsonArray([.. a.Items.Select(i => Eval(i, b))]);
            case ObjectTemplate o:
                return Fields(new JsonObject(), o.Fields, b);
            case EachTemplate e:
                return new JsonArray([.. Elements(e.Source, b).Select(element => Eval(e.Element, new Binding(e.Alias, element, b)))]);
            case LookupTemplate l:
                return Lookup(l, b)?.DeepClone();
            case MergeTemplate m:
                var merged = new JsonObject();
                foreach (var part in m.Parts)
                {
                    if (Eval(part, b) is JsonObject po)
                    {
                        foreach (var (k, v) in po.ToList())
                        {
                            po.Remove(k);
                            merged[k] = v;
                        }
                    }
                }

                return merged;
            case SumTemplate s:
                return Sum(s, b);
            case ShapeTemplate shape:
                return Shape(shape, b);
            default:
                throw new InvalidOperationException($"unknown template {t.GetType().Name}");
        }
    }

    private JsonObject Fields(JsonObject target, IReadOnlyList<KeyValuePair<string, Template>> fields, Binding? b)
    {
        var self = new Binding("this", target, b);
        foreach (var (key, template) in fields)
        {
            target[key] = Eval(template, self);
        }

        return target;
    }

    private JsonNode? Lookup(LookupTemplate l, Binding? b)
    {
        var by = KeyOf(l.By is RefTemplate br ? Borrow(br.Ref, b) : Eval(l.By, b));
        if (l.Source is RefTemplate { Ref: { HasWildcard: false } sr } && Borrow(sr, b) is JsonArray shared)
        {
            // One index per source array and key, built on first use: a join is then one dictionary probe per item.
            _indexes ??= [];
            if (!_indexes.TryGetValue((shared, l.Key), out var index))
            {
                index = [];
                foreach (var element in shared)
                {
                    if (element is JsonObject eo && eo.TryGetPropertyValue(l.Key, out var k))
                    {
                        index.TryAdd(KeyOf(k), element);
                    }
                }

                _indexes[(shared, l.Key)] = index;
            }

            return index.GetValueOrDefault(by);
        }

        return Elements(l.Source, b).FirstOrDefault(e => e is JsonObject eo && eo.TryGetPropertyValue(l.Key, out var k) && KeyOf(k) == by);
    }

    private JsonValue Sum(SumTemplate s, Binding? b)
    {
        var total = 0m;
        foreach (var element in Elements(s.Source, b))
        {
            var product = 1m;
            foreach (var path in s.Of)
            {
                var node = element;
                foreach (var name in path)
                {
                    node = node is JsonObject o && o.TryGetPropertyValue(name, out var f) ? f : null;
                }

                product *= node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && ToDecimal(v) is { } d ? d : 0m;
            }

            total += product;
        }

        return JsonValue.Create(total);
    }

    /// <summary>A decimal as <see cref="Utf8JsonWriter"/> writes it.</summary>
    private static string DecimalText(decimal d)
    {
        Span<byte> utf8 = stackalloc byte[64];
        return Utf8Formatter.TryFormat(d, utf8, out var written) ? Encoding.UTF8.GetString(utf8[..written]) : d.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A number as a decimal, read from the parsed value where it can be (no text round trip); null when it does not fit.</summary>
    private static decimal? ToDecimal(JsonValue v)
    {
        if (v.TryGetValue<JsonElement>(out var e))
        {
            return e.TryGetDecimal(out var fromElement) ? fromElement : null;
        }

        if (v.TryGetValue<decimal>(out var d))
        {
            return d;
        }

        if (v.TryGetValue<long>(out var l))
        {
            return l;
        }

        if (v.TryGetValue<int>(out var i))
        {
            return i;
        }

        return decimal.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
    }

    private JsonNode? Shape(ShapeTemplate s, Binding? b)
    {
        // A base that is a reference or a lookup is borrowed: with @select only the kept fields are copied, not the
        // whole object (a joined product, say) to be cut down afterwards.
        var (value, owned) = s.Base switch
        {
            RefTemplate { Ref: { HasWildcard: false } r } => (Single(r, b), false),
            LookupTemplate l => (Lookup(l, b), false),
            _ => (Eval(s.Base, b), true),
        };
        if (value is not JsonObject o)
        {
            // Reshaping applies to objects; anything else (null for a missing step) passes through.
            return owned ? value : value?.DeepClone();
        }

        if (s.Select is { } select)
        {
            var kept = new JsonObject();
            foreach (var name in select)
            {
                if (o.TryGetPropertyValue(name, out var v))
                {
                    if (owned)
                    {
                        o.Remove(name);
                        kept[name] = v;
                    }
                    else
                    {
                        kept[name] = v?.DeepClone();
                    }
                }
            }

            o = kept;
        }
        else if (!owned)
        {
            o = (JsonObject)o.DeepClone();
        }

        foreach (var name in s.Omit ?? [])
        {
            o.Remove(name);
        }

        foreach (var (from, to) in s.Rename ?? [])
        {
            if (o.TryGetPropertyValue(from, out var v))
            {
                o.Remove(from);
                o[to] = v;
            }
        }

        return Fields(o, s.Extra, b);
    }
}
