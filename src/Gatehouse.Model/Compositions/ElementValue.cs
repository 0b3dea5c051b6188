using System.Buffers.Text;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Model.Compositions;

/// <summary>What an <see cref="ElementValue"/> holds.</summary>
public enum ElementValueKind : byte
{
    /// <summary>JSON null, or nothing (a missing field, step or binding): the two are one value, as in a JsonNode tree.</summary>
    Null,
    /// <summary>A borrowed <see cref="JsonElement"/> (never of kind Null or Undefined).</summary>
    Element,
    /// <summary>A string.</summary>
    String,
    /// <summary>A number, kept as its JSON text (or, for what <c>@sum</c> made, as a decimal).</summary>
    Number,
    /// <summary>A built array: a list of values.</summary>
    List,
    /// <summary>A built object: fields in order, names unique.</summary>
    Fields,
    /// <summary>
    /// A borrowed object with fields set beside it (<c>@value</c> plus fields): the object's fields in its order, each
    /// replaced in place by a set field of that name, then the other set fields. Read and written without copying it.
    /// </summary>
    Extended,
    /// <summary>A template literal, written and compared as JsonNode writes them.</summary>
    Node,
    /// <summary>
    /// A borrowed object seen through an <c>@select</c> (a product without its other fields): the selected names the
    /// object has, in the selection's order. Read and written without copying it.
    /// </summary>
    Selected,
}

/// <summary>
/// A value a composition's templates read and build: either a
/// borrowed <see cref="JsonElement"/> of a backend's parsed <see cref="JsonDocument"/>, or a built value. Cheap to make:
/// a struct, and a borrowed value is never copied. Valid only while the documents it borrows from are.
/// </summary>
public readonly struct ElementValue
{
    private readonly JsonElement _element;
    private readonly object? _ref;
    // The borrowed element's kind, found once when it is wrapped: JsonElement.ValueKind reads the document's metadata
    // on every call, and values are asked (object? array?) at every step. Fits in the struct's padding.
    private readonly JsonValueKind _elementKind;

    private ElementValue(ElementValueKind kind, JsonElement element, object? reference, JsonValueKind elementKind = JsonValueKind.Undefined) =>
        (Kind, _element, _ref, _elementKind) = (kind, element, reference, elementKind);

    /// <summary>What this value holds.</summary>
    public ElementValueKind Kind { get; }

    /// <summary>Null (also what <c>default</c> is).</summary>
    public static ElementValue Null => default;

    /// <summary>A borrowed element; JSON null becomes <see cref="Null"/>.</summary>
    public static ElementValue Of(JsonElement element) =>
        element.ValueKind is var kind and not (JsonValueKind.Null or JsonValueKind.Undefined) ? new(ElementValueKind.Element, element, null, kind) : default;

    /// <summary>A string.</summary>
    public static ElementValue String(string text) => new(ElementValueKind.String, default, text);

    /// <summary>A number given by its JSON text (for example a step's status), written as is.</summary>
    public static ElementValue Number(string jsonText) => new(ElementValueKind.Number, default, jsonText);

    /// <summary>
    /// A computed number (what <c>@sum</c> makes), kept boxed: read, keyed and written exactly as the
    /// <c>JsonValue.Create(decimal)</c> it replaces (<see cref="Utf8JsonWriter.WriteNumberValue(decimal)"/> is what that
    /// node's converter calls), for a box instead of a node and a converter call per write.
    /// </summary>
    public static ElementValue Number(decimal value) => new(ElementValueKind.Number, default, value);

    /// <summary>A built array.</summary>
    public static ElementValue List(List<ElementValue> items) => new(ElementValueKind.List, default, items);

    /// <summary>A built object; the names must be unique (<see cref="Set"/> keeps them so).</summary>
    public static ElementValue Fields(List<KeyValuePair<string, ElementValue>> fields) => new(ElementValueKind.Fields, default, fields);

    /// <summary>
    /// <paramref name="baseObject"/> (a borrowed object) with <paramref name="fields"/> set on it, as
    /// <see cref="Set"/> on a copy of its fields would leave them; the names in <paramref name="fields"/> must be unique.
    /// </summary>
    public static ElementValue Extended(JsonElement baseObject, List<KeyValuePair<string, ElementValue>> fields) => new(ElementValueKind.Extended, baseObject, fields, baseObject.ValueKind);

    /// <summary>
    /// <paramref name="baseObject"/> (a borrowed object) seen through <paramref name="selection"/>: what a list of the
    /// selected fields it has, in the selection's order, would hold.
    /// </summary>
    internal static ElementValue Selected(JsonElement baseObject, FieldSelection selection) => new(ElementValueKind.Selected, baseObject, selection, JsonValueKind.Object);

    /// <summary>A JsonNode (a template literal); null is <see cref="Null"/>.</summary>
    public static ElementValue Node(JsonNode? node) => node is null ? default : new(ElementValueKind.Node, default, node);

    /// <summary>The borrowed element (kind <see cref="ElementValueKind.Element"/>).</summary>
    public JsonElement Element => _element;

    /// <summary>The built array (kind <see cref="ElementValueKind.List"/>).</summary>
    public List<ElementValue> Items => (List<ElementValue>)_ref!;

    /// <summary>The built object (kind <see cref="ElementValueKind.Fields"/>), or the fields set on a borrowed one (kind <see cref="ElementValueKind.Extended"/>).</summary>
    public List<KeyValuePair<string, ElementValue>> FieldList => (List<KeyValuePair<string, ElementValue>>)_ref!;

    /// <summary>
    /// This value as it is now: a built object (or the fields set on a borrowed one) copied, so that fields set on the
    /// original later do not show in it; anything else is itself.
    /// </summary>
    public ElementValue Snapshot() => Kind switch
    {
        ElementValueKind.Fields => Fields([.. FieldList]),
        ElementValueKind.Extended => new(ElementValueKind.Extended, _element, new List<KeyValuePair<string, ElementValue>>(FieldList), _elementKind),
        _ => this,
    };

    /// <summary>Whether this is JSON null (or nothing).</summary>
    public bool IsNull => Kind == ElementValueKind.Null;

    /// <summary>Whether this is an object (a JSON object, a built one, or an object literal).</summary>
    public bool IsObject => Kind switch
    {
        ElementValueKind.Element => _elementKind == JsonValueKind.Object,
        ElementValueKind.Fields or ElementValueKind.Extended or ElementValueKind.Selected => true,
        ElementValueKind.Node => _ref is JsonObject,
        _ => false,
    };

    /// <summary>Whether this is a string (a JSON string, a built one, or a string literal).</summary>
    internal bool IsString => Kind switch
    {
        ElementValueKind.String => true,
        ElementValueKind.Element => _elementKind == JsonValueKind.String,
        ElementValueKind.Node => _ref is JsonValue v && v.GetValueKind() == JsonValueKind.String,
        _ => false,
    };

    /// <summary>Whether this is a number (a JSON number, a computed one, or a number literal).</summary>
    internal bool IsNumber => Kind switch
    {
        ElementValueKind.Number => true,
        ElementValueKind.Element => _elementKind == JsonValueKind.Number,
        ElementValueKind.Node => _ref is JsonValue v && v.GetValueKind() == JsonValueKind.Number,
        _ => false,
    };

    /// <summary>Whether this is an array (a JSON array, a built one, or an array literal).</summary>
    public bool IsArray => Kind switch
    {
        ElementValueKind.Element => _elementKind == JsonValueKind.Array,
        ElementValueKind.List => true,
        ElementValueKind.Node => _ref is JsonArray,
        _ => false,
    };

    /// <summary>The field <paramref name="name"/> of an object; false (and null) when this is not an object or has no such field.</summary>
    public bool TryGetField(string name, out ElementValue value) => TryGetField(name, null, out value);

    /// <summary>
    /// <see cref="TryGetField(string, out ElementValue)"/> with the name's UTF-8 made once beforehand (see
    /// <see cref="Utf8Names"/>), which a borrowed object is searched by; null to search by the string.
    /// </summary>
    internal bool TryGetField(string name, byte[]? utf8Name, out ElementValue value)
    {
        switch (Kind)
        {
            case ElementValueKind.Element when _elementKind == JsonValueKind.Object && (utf8Name is null ? _element.TryGetProperty(name, out var e) : _element.TryGetProperty(utf8Name, out e)):
                value = Of(e);
                return true;
            case ElementValueKind.Fields or ElementValueKind.Extended:
                // Over the list's span: no enumerator, and no copy of the fields that do not match.
                foreach (ref readonly var field in CollectionsMarshal.AsSpan(FieldList))
                {
                    if (field.Key == name)
                    {
                        value = field.Value;
                        return true;
                    }
                }

                if (Kind == ElementValueKind.Extended && (utf8Name is null ? _element.TryGetProperty(name, out var own) : _element.TryGetProperty(utf8Name, out own)))
                {
                    value = Of(own);
                    return true;
                }

                break;
            case ElementValueKind.Selected when ((FieldSelection)_ref!).IndexOf(name) is var at and >= 0 && _element.TryGetProperty(((FieldSelection)_ref!).Utf8[at], out var picked):
                value = Of(picked);
                return true;
            case ElementValueKind.Node when _ref is JsonObject o && o.TryGetPropertyValue(name, out var n):
                value = Node(n);
                return true;
        }

        value = default;
        return false;
    }

    /// <summary>The field <paramref name="name"/> of an object, or null.</summary>
    public ElementValue Field(string name) => TryGetField(name, null, out var v) ? v : default;

    /// <summary>The field <paramref name="name"/> (its UTF-8 made beforehand, or null) of an object, or null.</summary>
    internal ElementValue Field(string name, byte[]? utf8Name) => TryGetField(name, utf8Name, out var v) ? v : default;

    /// <summary>The element at <paramref name="index"/> of an array, or null.</summary>
    public ElementValue At(int index)
    {
        switch (Kind)
        {
            case ElementValueKind.Element when _elementKind == JsonValueKind.Array:
                // JsonElement's indexer walks the array when elements have children; counting as we go is no worse.
                var i = 0;
                foreach (var e in _element.EnumerateArray())
                {
                    if (i++ == index)
                    {
                        return Of(e);
                    }
                }

                return default;
            case ElementValueKind.List:
                return index < Items.Count ? Items[index] : default;
            case ElementValueKind.Node when _ref is JsonArray a:
                return index < a.Count ? Node(a[index]) : default;
            default:
                return default;
        }
    }

    /// <summary>The elements of an array (none for anything else), without a list.</summary>
    public ItemEnumerator EnumerateItems() => new(this);

    /// <summary>The fields of an object (none for anything else), in order.</summary>
    public FieldEnumerator EnumerateFields() => new(this);

    /// <summary>Writes this value as JSON (a literal as <see cref="JsonNode.WriteTo"/> writes it).</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        switch (Kind)
        {
            case ElementValueKind.Null:
                writer.WriteNullValue();
                break;
            case ElementValueKind.Element:
                _element.WriteTo(writer);
                break;
            case ElementValueKind.String:
                writer.WriteStringValue((string)_ref!);
                break;
            case ElementValueKind.Number:
                if (_ref is decimal d)
                {
                    writer.WriteNumberValue(d);
                }
                else
                {
                    writer.WriteRawValue((string)_ref!, skipInputValidation: true);
                }

                break;
            case ElementValueKind.List:
                writer.WriteStartArray();
                foreach (var item in Items)
                {
                    item.WriteTo(writer);
                }

                writer.WriteEndArray();
                break;
            case ElementValueKind.Fields:
                writer.WriteStartObject();
                foreach (var (k, v) in FieldList)
                {
                    writer.WritePropertyName(k);
                    v.WriteTo(writer);
                }

                writer.WriteEndObject();
                break;
            case ElementValueKind.Extended:
                WriteExtended(writer);
                break;
            case ElementValueKind.Selected:
                var selection = (FieldSelection)_ref!;
                writer.WriteStartObject();
                for (var i = 0; i < selection.Names.Length; i++)
                {
                    if (_element.TryGetProperty(selection.Utf8[i], out var picked))
                    {
                        writer.WritePropertyName(selection.Encoded[i]);
                        Of(picked).WriteTo(writer);
                    }
                }

                writer.WriteEndObject();
                break;
            default:
                ((JsonNode)_ref!).WriteTo(writer);
                break;
        }
    }

    private void WriteExtended(Utf8JsonWriter writer)
    {
        var set = FieldList;
        // Which set fields took the place of one of the object's own (set names are unique, so this is which of them
        // the object has): the rest are written after, without searching the object again for each.
        var replaced = 0UL;
        writer.WriteStartObject();
        foreach (var property in _element.EnumerateObject())
        {
            if (IndexOfSet(set, property) is var at and >= 0)
            {
                replaced |= at < 64 ? 1UL << at : 0;
                writer.WritePropertyName(set[at].Key);
                set[at].Value.WriteTo(writer);
            }
            else
            {
                // The name as the object spells it; its value as Of(value) writes it (JSON null is null either way).
                property.WriteTo(writer);
            }
        }

        for (var i = 0; i < set.Count; i++)
        {
            var (k, v) = set[i];
            if (i < 64 ? (replaced & (1UL << i)) == 0 : !_element.TryGetProperty(k, out _))
            {
                writer.WritePropertyName(k);
                v.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
    }

    private static int IndexOfSet(List<KeyValuePair<string, ElementValue>> set, JsonProperty property)
    {
        // A name spelt in plain ASCII (no escapes) is compared as it is; NameEquals would transcode the other per call.
        var raw = JsonMarshal.GetRawUtf8PropertyName(property);
        var plain = raw.IndexOf((byte)'\\') < 0 && Ascii.IsValid(raw);
        for (var i = 0; i < set.Count; i++)
        {
            if (plain ? Ascii.Equals(raw, set[i].Key) : property.NameEquals(set[i].Key))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// The value as lookups compare it and fan-outs de-duplicate it: strings by their text, numbers and booleans by their
    /// JSON text (so 1 equals "1"), null as <c>null</c>, anything else as its compact JSON.
    /// </summary>
    public string Key() => ScalarText() ?? (IsNull ? "null" : ToJsonString());

    /// <summary>Room for <see cref="KeyChars"/> on the stack: ids and short names fit.</summary>
    public const int KeyScratchLength = 64;

    /// <summary>
    /// <see cref="Key"/> as chars: written into <paramref name="scratch"/> (<see cref="KeyScratchLength"/> long) without
    /// a string for a short scalar, the ids that lookups and fan-outs compare; else the string <see cref="Key"/> makes.
    /// </summary>
    public ReadOnlySpan<char> KeyChars(Span<char> scratch) => TryWriteKey(scratch, out var written) ? scratch[..written] : Key();

    /// <summary>
    /// <see cref="Key"/> written into <paramref name="into"/> without making a string, for a string without escapes, a
    /// number or a boolean that fits; false for anything else (then <see cref="Key"/>).
    /// </summary>
    internal bool TryWriteKey(Span<char> into, out int written)
    {
        written = 0;
        switch (Kind)
        {
            case ElementValueKind.String or ElementValueKind.Number when _ref is string text:
                if (!text.TryCopyTo(into))
                {
                    return false;
                }

                written = text.Length;
                return true;
            case ElementValueKind.Element when _elementKind is JsonValueKind.String or JsonValueKind.Number:
                // The raw value (with a string's quotes): the same text as GetString() or GetRawText() when nothing is escaped.
                var raw = JsonMarshal.GetRawUtf8Value(_element);
                if (_elementKind == JsonValueKind.String)
                {
                    raw = raw[1..^1];
                    if (raw.IndexOf((byte)'\\') >= 0)
                    {
                        return false;
                    }
                }

                return System.Text.Unicode.Utf8.ToUtf16(raw, into, out _, out written, replaceInvalidSequences: false) == System.Buffers.OperationStatus.Done;
            case ElementValueKind.Element when _elementKind is JsonValueKind.True or JsonValueKind.False:
                var literal = _elementKind == JsonValueKind.True ? "true" : "false";
                written = literal.Length;
                return literal.TryCopyTo(into);
            default:
                return false;
        }
    }

    /// <summary>
    /// A scalar as text for a URL or a header: a string's text (unescaped), a number's JSON text as the backend or the
    /// template wrote it, <c>true</c> or <c>false</c>. Null for null, objects and arrays.
    /// </summary>
    public string? ScalarText()
    {
        switch (Kind)
        {
            case ElementValueKind.String:
                return (string)_ref!;
            case ElementValueKind.Number:
                return _ref as string ?? DecimalText((decimal)_ref!);
            case ElementValueKind.Node when _ref is JsonValue v && v.GetValueKind() is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                return NodeScalarText(v) ?? v.ToJsonString();
            case ElementValueKind.Element:
                return _elementKind switch
                {
                    JsonValueKind.String => _element.GetString(),
                    JsonValueKind.Number => _element.GetRawText(),
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    _ => null,
                };
            default:
                return null;
        }
    }

    /// <summary>
    /// A template value's text (a literal, or what <c>@sum</c> made) without <see cref="JsonNode.ToJsonString"/>, which
    /// sets up a writer and a buffer per call; null for what only that can write.
    /// </summary>
    private static string? NodeScalarText(JsonValue value)
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

    /// <summary>A decimal as <see cref="Utf8JsonWriter"/> writes it.</summary>
    private static string DecimalText(decimal d)
    {
        Span<byte> utf8 = stackalloc byte[64];
        return Utf8Formatter.TryFormat(d, utf8, out var written) ? Encoding.UTF8.GetString(utf8[..written]) : d.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The value as compact JSON.</summary>
    public string ToJsonString()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A number as <c>@sum</c> reads it; null when this is not a number or does not fit.</summary>
    public decimal? ToDecimal()
    {
        switch (Kind)
        {
            case ElementValueKind.Element when _elementKind == JsonValueKind.Number:
                return _element.TryGetDecimal(out var d) ? d : null;
            case ElementValueKind.Number:
                return _ref is decimal exact ? exact : decimal.TryParse((string)_ref!, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
            case ElementValueKind.Node when _ref is JsonValue v && v.GetValueKind() == JsonValueKind.Number:
                return NodeDecimal(v);
            default:
                return null;
        }
    }

    private static decimal? NodeDecimal(JsonValue v)
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

    /// <summary>Sets <paramref name="name"/> in a built object as a JsonObject's indexer does: in place when present, else at the end.</summary>
    public static void Set(List<KeyValuePair<string, ElementValue>> fields, string name, ElementValue value)
    {
        var span = CollectionsMarshal.AsSpan(fields);
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i].Key == name)
            {
                span[i] = new(name, value);
                return;
            }
        }

        fields.Add(new(name, value));
    }

    /// <summary>Removes <paramref name="name"/> from a built object; false when absent.</summary>
    public static bool Remove(List<KeyValuePair<string, ElementValue>> fields, string name)
    {
        for (var i = 0; i < fields.Count; i++)
        {
            if (fields[i].Key == name)
            {
                fields.RemoveAt(i);
                return true;
            }
        }

        return false;
    }

    /// <summary>How many elements an array has (for a list's capacity); 0 for anything else.</summary>
    internal int ItemCountOrZero() => Kind switch
    {
        ElementValueKind.Element when _elementKind == JsonValueKind.Array => _element.GetArrayLength(),
        ElementValueKind.List => Items.Count,
        ElementValueKind.Node when _ref is JsonArray a => a.Count,
        _ => 0,
    };

    /// <summary>The elements of an array value.</summary>
    public struct ItemEnumerator
    {
        private readonly ElementValue _value;
        private JsonElement.ArrayEnumerator _elements;
        private int _index;

        internal ItemEnumerator(ElementValue value)
        {
            (_value, _index) = (value, -1);
            _elements = value.Kind == ElementValueKind.Element && value._elementKind == JsonValueKind.Array ? value._element.EnumerateArray() : default;
        }

        public ElementValue Current { get; private set; }

        public readonly ItemEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            switch (_value.Kind)
            {
                case ElementValueKind.Element when _value._elementKind == JsonValueKind.Array:
                    if (_elements.MoveNext())
                    {
                        Current = Of(_elements.Current);
                        return true;
                    }

                    return false;
                case ElementValueKind.List:
                    if (++_index < _value.Items.Count)
                    {
                        Current = _value.Items[_index];
                        return true;
                    }

                    return false;
                case ElementValueKind.Node when _value._ref is JsonArray a:
                    if (++_index < a.Count)
                    {
                        Current = Node(a[_index]);
                        return true;
                    }

                    return false;
                default:
                    return false;
            }
        }
    }

    /// <summary>The fields of an object value.</summary>
    public struct FieldEnumerator
    {
        private readonly ElementValue _value;
        private JsonElement.ObjectEnumerator _properties;
        private int _index;

        internal FieldEnumerator(ElementValue value)
        {
            (_value, _index) = (value, -1);
            _properties = value.Kind is ElementValueKind.Element or ElementValueKind.Extended && value._elementKind == JsonValueKind.Object ? value._element.EnumerateObject() : default;
        }

        public KeyValuePair<string, ElementValue> Current { get; private set; }

        public readonly FieldEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            switch (_value.Kind)
            {
                case ElementValueKind.Element when _value._elementKind == JsonValueKind.Object:
                    if (_properties.MoveNext())
                    {
                        var p = _properties.Current;
                        Current = new(PropertyNames.Of(p), Of(p.Value));
                        return true;
                    }

                    return false;
                case ElementValueKind.Fields:
                    if (++_index < _value.FieldList.Count)
                    {
                        Current = _value.FieldList[_index];
                        return true;
                    }

                    return false;
                case ElementValueKind.Extended:
                    // The object's own fields first (a set one in place of its namesake), then the other set fields.
                    var set = _value.FieldList;
                    if (_index < 0 && _properties.MoveNext())
                    {
                        var p = _properties.Current;
                        var at = IndexOfSet(set, p);
                        Current = at >= 0 ? set[at] : new(PropertyNames.Of(p), Of(p.Value));
                        return true;
                    }

                    while (++_index < set.Count)
                    {
                        if (!_value._element.TryGetProperty(set[_index].Key, out _))
                        {
                            Current = set[_index];
                            return true;
                        }
                    }

                    return false;
                case ElementValueKind.Selected:
                    var selection = (FieldSelection)_value._ref!;
                    while (++_index < selection.Names.Length)
                    {
                        if (_value._element.TryGetProperty(selection.Utf8[_index], out var picked))
                        {
                            Current = new(selection.Names[_index], Of(picked));
                            return true;
                        }
                    }

                    return false;
                case ElementValueKind.Node when _value._ref is JsonObject o:
                    if (++_index < o.Count)
                    {
                        var (k, v) = o.GetAt(_index);
                        Current = new(k, Node(v));
                        return true;
                    }

                    return false;
                default:
                    return false;
            }
        }
    }
}
