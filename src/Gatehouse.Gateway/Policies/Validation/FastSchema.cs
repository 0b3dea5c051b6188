using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gatehouse.Gateway.Policies.Validation;

/// <summary>What <see cref="FastSchema"/> can say about a value.</summary>
internal enum Verdict
{
    /// <summary>Not decided here: the library decides (and names the errors).</summary>
    Unknown,
    Valid,
    Invalid,
}

/// <summary>
/// A check compiled from a JSON Schema (2020-12) that uses only the common keywords of API contracts: type, enum, const,
/// properties, required, additionalProperties, items, the size and number bounds, pattern, uniqueItems, allOf, anyOf,
/// oneOf, not, and <c>$ref</c> to the document's own <c>$defs</c>. It runs in front of JsonSchema.Net: a request it finds
/// <see cref="Verdict.Valid"/> goes on, anything else is evaluated by the library as before, which also names the errors.
/// </summary>
/// <remarks>
/// Written here because the library's evaluation of a 1 KB body costs about 56 µs (docs/benchmarks.md) against a target of
/// 20 µs for the whole check, and no served package compiles a schema to a faster check. It is conservative by design:
/// where the library's reading could differ from the specification's (a string's length outside ASCII, a number that
/// is not a plain integer or does not fit a decimal, an enum of objects, a pattern that .NET and ECMAScript read
/// differently), the answer is <see cref="Verdict.Unknown"/> and the library decides. A schema with any keyword not listed
/// here (other than annotations) is not compiled at all. A differential test checks its verdicts against the library's.
/// </remarks>
internal sealed class FastSchema
{
    // Keywords that only annotate, and OpenAPI's extras. (format is not one: the library checks the formats it knows.)
    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "title", "description", "default", "examples", "example", "deprecated", "readOnly", "writeOnly", "$comment",
        "discriminator", "xml", "externalDocs", "contentMediaType", "contentEncoding", "nullable",
    };

    private readonly Node _root;

    private FastSchema(Node root) => _root = root;

    /// <summary>The compiled check, or null when the schema uses something this does not decide.</summary>
    public static FastSchema? TryCompile(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            var defs = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("$defs", out var d) && d.ValueKind == JsonValueKind.Object ? d.Clone() : default;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("$schema", out var dialect)
                && dialect.GetString() is not "https://json-schema.org/draft/2020-12/schema")
            {
                return null;
            }

            var compiler = new Compiler(defs);
            var node = compiler.Compile(root, isRoot: true);
            return node is null || !compiler.ResolveAll() ? null : new FastSchema(node);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException or OverflowException)
        {
            return null;
        }
    }

    public Verdict Evaluate(JsonElement value) => _root.Evaluate(value, 0);

    [Flags]
    private enum Types
    {
        None = 0,
        Null = 1,
        Boolean = 2,
        Object = 4,
        Array = 8,
        Number = 16,
        Integer = 32,
        String = 64,
    }

    private sealed class Compiler(JsonElement defs)
    {
        private readonly Dictionary<string, Node> _named = new(StringComparer.Ordinal);
        private readonly List<(Node From, string Name)> _refs = [];

        public Node? Compile(JsonElement schema, bool isRoot = false)
        {
            if (schema.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                return new Node { Constant = schema.ValueKind == JsonValueKind.True ? Verdict.Valid : Verdict.Invalid };
            }

            if (schema.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var node = new Node();
            foreach (var keyword in schema.EnumerateObject())
            {
                var value = keyword.Value;
                switch (keyword.Name)
                {
                    case "type":
                        node.Types = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().Aggregate(Types.None, (t, e) => t | TypeOf(e.GetString())) : TypeOf(value.GetString());
                        if (node.Types == Types.None)
                        {
                            return null;
                        }

                        break;
                    case "enum":
                        node.Enum = [.. value.EnumerateArray().Select(e => e.Clone())];
                        break;
                    case "const":
                        node.Enum = [value.Clone()];
                        break;
                    case "properties":
                        var properties = new List<(string, Node)>();
                        foreach (var property in value.EnumerateObject())
                        {
                            if (Compile(property.Value) is not { } child)
                            {
                                return null;
                            }

                            properties.Add((property.Name, child));
                        }

                        node.Properties = [.. properties];
                        break;
                    case "required":
                        node.Required = [.. value.EnumerateArray().Select(e => e.GetString()!)];
                        break;
                    case "additionalProperties":
                        if ((node.Additional = Compile(value)) is null)
                        {
                            return null;
                        }

                        break;
                    case "items":
                        if ((node.Items = Compile(value)) is null)
                        {
                            return null;
                        }

                        break;
                    case "allOf" or "anyOf" or "oneOf":
                        var list = new List<Node>();
                        foreach (var item in value.EnumerateArray())
                        {
                            if (Compile(item) is not { } child)
                            {
                                return null;
                            }

                            list.Add(child);
                        }

                        if (list.Count == 0)
                        {
                            return null;
                        }

                        _ = keyword.Name switch { "allOf" => node.AllOf = [.. list], "anyOf" => node.AnyOf = [.. list], _ => node.OneOf = [.. list] };
                        break;
                    case "not":
                        if ((node.Not = Compile(value)) is null)
                        {
                            return null;
                        }

                        break;
                    case "$ref":
                        // Only the document's own definitions, as the OpenAPI reader writes them: "#/$defs/NAME".
                        var target = value.GetString();
                        if (target is null || !target.StartsWith("#/$defs/", StringComparison.Ordinal) || !IsPlainName(target.AsSpan(8)))
                        {
                            return null;
                        }

                        _refs.Add((node, target[8..]));
                        break;
                    case "$defs" when isRoot:
                    case "$schema" when isRoot:
                        break;
                    case "minLength": node.MinLength = Count(value); break;
                    case "maxLength": node.MaxLength = Count(value); break;
                    case "minItems": node.MinItems = Count(value); break;
                    case "maxItems": node.MaxItems = Count(value); break;
                    case "minProperties": node.MinProperties = Count(value); break;
                    case "maxProperties": node.MaxProperties = Count(value); break;
                    case "uniqueItems": node.Unique = value.GetBoolean(); break;
                    case "minimum": node.Minimum = value.GetDecimal(); break;
                    case "maximum": node.Maximum = value.GetDecimal(); break;
                    case "exclusiveMinimum": node.ExclusiveMinimum = value.GetDecimal(); break;
                    case "exclusiveMaximum": node.ExclusiveMaximum = value.GetDecimal(); break;
                    case "format":
                        // The library's own check of the format, so both read it alike; one it does not know is its call.
                        node.Format = Json.Schema.FormatRegistry.Global.Get(value.GetString()!);
                        if (node.Format is Json.Schema.UnknownFormat)
                        {
                            return null;
                        }

                        break;
                    case "pattern":
                        node.Pattern = Pattern.Compile(value.GetString()!);
                        break;
                    default:
                        if (!Annotations.Contains(keyword.Name) && !keyword.Name.StartsWith("x-", StringComparison.Ordinal))
                        {
                            return null;
                        }

                        break;
                }
            }

            return node;
        }

        /// <summary>Compiles each definition a <c>$ref</c> names (once, so recursive ones end) and links it.</summary>
        public bool ResolveAll()
        {
            for (var i = 0; i < _refs.Count; i++)
            {
                var (from, name) = _refs[i];
                if (!_named.TryGetValue(name, out var target))
                {
                    if (defs.ValueKind != JsonValueKind.Object || !defs.TryGetProperty(name, out var definition))
                    {
                        return false;
                    }

                    // Named before it is compiled, so that a definition that refers to itself ends here; the compiled
                    // node is reached through the name's node.
                    target = new Node();
                    _named[name] = target;
                    if (Compile(definition) is not { } compiled)
                    {
                        return false;
                    }

                    target.Ref = compiled;
                }

                from.Ref = target;
            }

            return true;
        }

        private static bool IsPlainName(ReadOnlySpan<char> name)
        {
            foreach (var c in name)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
                {
                    return false;
                }
            }

            return name.Length > 0;
        }

        private static int Count(JsonElement value) => checked((int)value.GetDecimal());

        private static Types TypeOf(string? name) => name switch
        {
            "null" => Types.Null,
            "boolean" => Types.Boolean,
            "object" => Types.Object,
            "array" => Types.Array,
            "number" => Types.Number,
            "integer" => Types.Integer,
            "string" => Types.String,
            _ => Types.None,
        };
    }

    /// <summary>
    /// A pattern as two regular expressions, .NET's and ECMAScript's reading (JSON Schema means ECMA-262): a match by both
    /// is a match, a miss by both a miss, and anything else is left to the library.
    /// </summary>
    private sealed class Pattern(Regex dotnet, Regex? ecma)
    {
        private static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(100);

        public static Pattern Compile(string text)
        {
            var dotnet = new Regex(text, RegexOptions.CultureInvariant, Budget);
            Regex? ecma;
            try
            {
                ecma = new Regex(text, RegexOptions.ECMAScript, Budget);
            }
            catch (ArgumentException)
            {
                ecma = null; // a construct ECMAScript mode refuses: only a miss by .NET's reading is decided here
            }

            return new Pattern(dotnet, ecma);
        }

        public Verdict Match(string value)
        {
            try
            {
                var a = dotnet.IsMatch(value);
                if (ecma is null)
                {
                    return Verdict.Unknown;
                }

                return a == ecma.IsMatch(value) ? (a ? Verdict.Valid : Verdict.Invalid) : Verdict.Unknown;
            }
            catch (RegexMatchTimeoutException)
            {
                return Verdict.Unknown;
            }
        }
    }

    private sealed class Node
    {
        public Verdict? Constant;
        public Types Types;
        public JsonElement[]? Enum;
        public (string Name, Node Schema)[]? Properties;
        public string[]? Required;
        public Node? Additional;
        public Node? Items;
        public Node[]? AllOf;
        public Node[]? AnyOf;
        public Node[]? OneOf;
        public Node? Not;
        public Node? Ref;
        public int? MinLength, MaxLength, MinItems, MaxItems, MinProperties, MaxProperties;
        public bool Unique;
        public decimal? Minimum, Maximum, ExclusiveMinimum, ExclusiveMaximum;
        public Pattern? Pattern;
        public Json.Schema.Format? Format;

        // Deeper than any body the parser lets through (its nesting is bounded): only a definition that refers to itself
        // without going into the value gets here, and the library answers for it.
        private const int MaxDepth = 256;

        public Verdict Evaluate(JsonElement value, int depth)
        {
            if (Constant is { } constant)
            {
                return constant;
            }

            if (++depth > MaxDepth)
            {
                return Verdict.Unknown;
            }

            // Every keyword must pass: the first Invalid decides; an Unknown is kept, in case a later keyword says Invalid.
            var verdict = Verdict.Valid;
            if (Types != Types.None && !Combine(ref verdict, TypeMatches(value)))
            {
                return Verdict.Invalid;
            }

            if (Enum is not null && !Combine(ref verdict, InEnum(value)))
            {
                return Verdict.Invalid;
            }

            switch (value.ValueKind)
            {
                case JsonValueKind.Object when !Combine(ref verdict, EvaluateObject(value, depth)):
                case JsonValueKind.Array when !Combine(ref verdict, EvaluateArray(value, depth)):
                case JsonValueKind.String when !Combine(ref verdict, EvaluateString(value)):
                case JsonValueKind.Number when !Combine(ref verdict, EvaluateNumber(value)):
                    return Verdict.Invalid;
            }

            if (Format is not null && !Format.Validate(value, out _))
            {
                return Verdict.Invalid;
            }

            if (Ref is not null && !Combine(ref verdict, Ref.Evaluate(value, depth)))
            {
                return Verdict.Invalid;
            }

            if (AllOf is not null)
            {
                foreach (var schema in AllOf)
                {
                    if (!Combine(ref verdict, schema.Evaluate(value, depth)))
                    {
                        return Verdict.Invalid;
                    }
                }
            }

            if (AnyOf is not null && !Combine(ref verdict, Any(AnyOf, value, depth)))
            {
                return Verdict.Invalid;
            }

            if (OneOf is not null && !Combine(ref verdict, One(OneOf, value, depth)))
            {
                return Verdict.Invalid;
            }

            if (Not is not null && !Combine(ref verdict, Not.Evaluate(value, depth) switch { Verdict.Valid => Verdict.Invalid, Verdict.Invalid => Verdict.Valid, _ => Verdict.Unknown }))
            {
                return Verdict.Invalid;
            }

            return verdict;
        }

        // False when the part is Invalid; an Unknown part makes the whole Unknown unless something is Invalid.
        private static bool Combine(ref Verdict verdict, Verdict part)
        {
            if (part == Verdict.Invalid)
            {
                return false;
            }

            if (part == Verdict.Unknown)
            {
                verdict = Verdict.Unknown;
            }

            return true;
        }

        private static Verdict Any(Node[] schemas, JsonElement value, int depth)
        {
            var unknown = false;
            foreach (var schema in schemas)
            {
                switch (schema.Evaluate(value, depth))
                {
                    case Verdict.Valid:
                        return Verdict.Valid;
                    case Verdict.Unknown:
                        unknown = true;
                        break;
                }
            }

            return unknown ? Verdict.Unknown : Verdict.Invalid;
        }

        private static Verdict One(Node[] schemas, JsonElement value, int depth)
        {
            int valid = 0, unknown = 0;
            foreach (var schema in schemas)
            {
                switch (schema.Evaluate(value, depth))
                {
                    case Verdict.Valid:
                        valid++;
                        break;
                    case Verdict.Unknown:
                        unknown++;
                        break;
                }
            }

            return valid > 1 ? Verdict.Invalid : unknown > 0 ? Verdict.Unknown : valid == 1 ? Verdict.Valid : Verdict.Invalid;
        }

        private Verdict TypeMatches(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.Null => Has(Types.Null),
            JsonValueKind.True or JsonValueKind.False => Has(Types.Boolean),
            JsonValueKind.Object => Has(Types.Object),
            JsonValueKind.Array => Has(Types.Array),
            JsonValueKind.String => Has(Types.String),
            JsonValueKind.Number when (Types & Types.Number) != 0 => Verdict.Valid,
            // An integer is a number without a fraction: a plain literal certainly is; 1.0 or 1e2 are left to the library.
            JsonValueKind.Number when (Types & Types.Integer) != 0 => IsPlainInteger(value) ? Verdict.Valid : Verdict.Unknown,
            _ => Verdict.Invalid,
        };

        // A number as a decimal, when it surely is one exactly: a literal short enough that no digit is rounded away.
        private static decimal? Decimal(JsonElement value) =>
            JsonMarshalRaw(value).Length <= 20 && value.TryGetDecimal(out var number) ? number : null;

        private Verdict Has(Types type) => (Types & type) != 0 ? Verdict.Valid : Verdict.Invalid;

        private static bool IsPlainInteger(JsonElement value)
        {
            var raw = JsonMarshalRaw(value);
            return raw.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0;
        }

        private static ReadOnlySpan<byte> JsonMarshalRaw(JsonElement value) => System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value);

        private Verdict InEnum(JsonElement value)
        {
            var unknown = false;
            foreach (var option in Enum!)
            {
                switch (Same(option, value))
                {
                    case Verdict.Valid:
                        return Verdict.Valid;
                    case Verdict.Unknown:
                        unknown = true;
                        break;
                }
            }

            return unknown ? Verdict.Unknown : Verdict.Invalid;
        }

        // Equal (Valid), different (Invalid), or not decided here (numbers that are not decimals, objects and arrays that differ in text).
        private static Verdict Same(JsonElement a, JsonElement b)
        {
            if (a.ValueKind != b.ValueKind)
            {
                return Verdict.Invalid;
            }

            switch (a.ValueKind)
            {
                case JsonValueKind.Null or JsonValueKind.True or JsonValueKind.False:
                    return Verdict.Valid;
                case JsonValueKind.String:
                    return a.ValueEquals(b.GetString()) ? Verdict.Valid : Verdict.Invalid;
                case JsonValueKind.Number:
                    // The same literal is the same number; equal values written differently (1 and 1.0) are the library's call.
                    if (JsonMarshalRaw(a).SequenceEqual(JsonMarshalRaw(b)))
                    {
                        return Verdict.Valid;
                    }

                    return Decimal(a) is { } x && Decimal(b) is { } y && x != y ? Verdict.Invalid : Verdict.Unknown;
                default:
                    return JsonMarshalRaw(a).SequenceEqual(JsonMarshalRaw(b)) ? Verdict.Valid : Verdict.Unknown;
            }
        }

        // The names 'properties' and 'required' mention, in UTF-8, with each one's schema (null when only required) and
        // whether it is required: one pass over the value's properties finds them all (at most 64, else TryGetProperty).
        private (byte[] Utf8, string Name, Node? Schema, bool Required)[]? _names;

        private (byte[] Utf8, string Name, Node? Schema, bool Required)[] Names()
        {
            if (_names is null)
            {
                var names = new List<(byte[], string, Node?, bool)>();
                foreach (var (name, schema) in Properties ?? [])
                {
                    names.Add((Encoding.UTF8.GetBytes(name), name, schema, Required?.Contains(name, StringComparer.Ordinal) == true));
                }

                foreach (var name in (Required ?? []).Distinct(StringComparer.Ordinal))
                {
                    if (Properties?.Any(p => p.Name == name) != true)
                    {
                        names.Add((Encoding.UTF8.GetBytes(name), name, null, true));
                    }
                }

                Volatile.Write(ref _names, [.. names]); // built once by whichever request comes first; any copy is the same
            }

            return _names;
        }

        private Verdict EvaluateObject(JsonElement value, int depth)
        {
            var verdict = Verdict.Valid;
            var names = Names();
            if (names.Length > 64)
            {
                return EvaluateObjectByLookup(value, depth);
            }

            ulong seen = 0;
            var count = 0;
            foreach (var property in value.EnumerateObject())
            {
                count++;
                var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8PropertyName(property);
                var escaped = raw.IndexOf((byte)'\\') >= 0;
                var at = -1;
                for (var i = 0; i < names.Length; i++)
                {
                    if (escaped ? property.NameEquals(names[i].Name) : raw.SequenceEqual(names[i].Utf8))
                    {
                        at = i;
                        break;
                    }
                }

                if (at >= 0)
                {
                    seen |= 1UL << at;
                    if (names[at].Schema is { } schema)
                    {
                        // A listed property: its own schema, and additionalProperties does not apply to it.
                        if (!Combine(ref verdict, schema.Evaluate(property.Value, depth)))
                        {
                            return Verdict.Invalid;
                        }

                        continue;
                    }
                }

                if (Additional is not null && !Combine(ref verdict, Additional.Evaluate(property.Value, depth)))
                {
                    return Verdict.Invalid;
                }
            }

            if (count < MinProperties || count > MaxProperties)
            {
                return Verdict.Invalid;
            }

            if (Required is not null)
            {
                for (var i = 0; i < names.Length; i++)
                {
                    if (names[i].Required && (seen & (1UL << i)) == 0)
                    {
                        return Verdict.Invalid;
                    }
                }
            }

            return verdict;
        }

        // The same with a lookup per name, for an object schema that names more than 64 properties.
        private Verdict EvaluateObjectByLookup(JsonElement value, int depth)
        {
            var verdict = Verdict.Valid;
            var count = 0;
            foreach (var _ in value.EnumerateObject())
            {
                count++;
            }

            if (count < MinProperties || count > MaxProperties)
            {
                return Verdict.Invalid;
            }

            if (Required is not null)
            {
                foreach (var name in Required)
                {
                    if (!value.TryGetProperty(name, out _))
                    {
                        return Verdict.Invalid;
                    }
                }
            }

            if (Properties is not null)
            {
                foreach (var (name, schema) in Properties)
                {
                    if (value.TryGetProperty(name, out var property) && !Combine(ref verdict, schema.Evaluate(property, depth)))
                    {
                        return Verdict.Invalid;
                    }
                }
            }

            if (Additional is not null)
            {
                foreach (var property in value.EnumerateObject())
                {
                    if (!IsListed(property) && !Combine(ref verdict, Additional.Evaluate(property.Value, depth)))
                    {
                        return Verdict.Invalid;
                    }
                }
            }

            return verdict;
        }

        private bool IsListed(JsonProperty property)
        {
            if (Properties is null)
            {
                return false;
            }

            foreach (var (name, _) in Properties)
            {
                if (property.NameEquals(name))
                {
                    return true;
                }
            }

            return false;
        }

        private Verdict EvaluateArray(JsonElement value, int depth)
        {
            var length = value.GetArrayLength();
            if (length < MinItems || length > MaxItems)
            {
                return Verdict.Invalid;
            }

            var verdict = Verdict.Valid;
            if (Items is not null)
            {
                foreach (var item in value.EnumerateArray())
                {
                    if (!Combine(ref verdict, Items.Evaluate(item, depth)))
                    {
                        return Verdict.Invalid;
                    }
                }
            }

            if (Unique && length > 1)
            {
                for (var i = 0; i < length; i++)
                {
                    for (var j = i + 1; j < length; j++)
                    {
                        switch (Same(value[i], value[j]))
                        {
                            case Verdict.Valid:
                                return Verdict.Invalid;
                            case Verdict.Unknown:
                                verdict = Verdict.Unknown;
                                break;
                        }
                    }
                }
            }

            return verdict;
        }

        private Verdict EvaluateString(JsonElement value)
        {
            if (MinLength is null && MaxLength is null && Pattern is null)
            {
                return Verdict.Valid;
            }

            var text = value.GetString()!;
            var verdict = Verdict.Valid;
            if (MinLength is not null || MaxLength is not null)
            {
                // Length in characters: unambiguous only for ASCII (outside it, code points, UTF-16 units and text
                // elements differ, and the library's count is its own business).
                if (!Ascii.IsValid(text))
                {
                    verdict = Verdict.Unknown;
                }
                else if (text.Length < MinLength || text.Length > MaxLength)
                {
                    return Verdict.Invalid;
                }
            }

            if (Pattern is not null && !Combine(ref verdict, Pattern.Match(text)))
            {
                return Verdict.Invalid;
            }

            return verdict;
        }

        private Verdict EvaluateNumber(JsonElement value)
        {
            if (Minimum is null && Maximum is null && ExclusiveMinimum is null && ExclusiveMaximum is null)
            {
                return Verdict.Valid;
            }

            if (Decimal(value) is not { } number)
            {
                return Verdict.Unknown;
            }

            return number < Minimum || number > Maximum || number <= ExclusiveMinimum || number >= ExclusiveMaximum ? Verdict.Invalid : Verdict.Valid;
        }
    }
}
