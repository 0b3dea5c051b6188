using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Model.Compositions;

/// <summary>
/// Compiles JSON templates and references of a composition, reporting every problem with its path and collecting
/// the steps referenced (a step's dependencies). Roots other than <c>request</c>, <c>this</c>, <c>item</c> (where
/// allowed) and <c>@as</c> names must be steps of <see cref="Steps"/>. A reference to <c>@this</c> that can never
/// find a value (a field no object above has, one an <c>@omit</c> or <c>@select</c> removed) is an error too
/// (<c>TemplateCompiler.This.cs</c>).
/// </summary>
/// <remarks>
/// The order an object template is evaluated in, which the docs state (docs/compositions.md, "Templates"): the base
/// value (<c>@value</c>, <c>@lookup</c>, <c>@merge</c>, <c>@sum</c>), then the written keys in order, each seeing the
/// whole base and the keys above it as <c>@this</c>, then <c>@select</c> (fields of the base to keep; written keys
/// always stay), <c>@omit</c> and <c>@rename</c> on the result. An object with written keys and no base is the
/// object of those keys, and <c>@omit</c>/<c>@rename</c> reshape it.
/// </remarks>
public sealed partial class TemplateCompiler(IReadOnlyCollection<string> steps, Action<string, string> error)
{
    private static readonly string[] Directives = ["@value", "@each", "@as", "@lookup", "@by", "@key", "@merge", "@sum", "@of", "@select", "@omit", "@rename", "@number", "@string"];
    private static readonly string[] BaseDirectives = ["@value", "@lookup", "@merge", "@sum", "@number", "@string"];

    /// <summary>The steps of the composition.</summary>
    public IReadOnlyCollection<string> Steps { get; } = steps;

    /// <summary>Compiles a reference or literal string (a step's param, query or header value).</summary>
    public Template CompileValue(string text, string path, IReadOnlyCollection<string> scope, ISet<string> used) =>
        Compile(JsonValue.Create(text), path, scope, used, defaultBase: null);

    /// <summary>Compiles <paramref name="node"/>, with the names in <paramref name="scope"/> bound (<c>item</c>, <c>@as</c> names).</summary>
    public Template Compile(JsonNode? node, string path, IReadOnlyCollection<string> scope, ISet<string> used) =>
        Compile(node, path, scope, used, defaultBase: null);

    /// <summary>Parses and checks one reference.</summary>
    public ValueRef? Reference(string text, string path, IReadOnlyCollection<string> scope, ISet<string> used)
    {
        var r = ValueRef.TryParse(text, out var problem);
        if (r is null)
        {
            error(path, problem!);
            return null;
        }

        if (r.Root == "request")
        {
            var first = r.Segments.Count > 0 ? r.Segments[0].Name : "";
            var ok = first switch
            {
                "path" or "query" or "headers" => r.Segments.Count == 2 && r.Segments[1].Kind == RefSegmentKind.Field,
                "application" or "plan" or "id" => r.Segments.Count == 1,
                _ => false,
            };
            if (!ok)
            {
                error(path, $"'{text}' is not a request value; write '@request.path.NAME', '@request.query.NAME', '@request.headers.NAME', '@request.application', '@request.plan' or '@request.id'.");
                return null;
            }

            return r;
        }

        if (r.Root == "this")
        {
            return CheckThis(r, path) ? r : null;
        }

        if (scope.Contains(r.Root))
        {
            return r;
        }

        if (!Steps.Contains(r.Root))
        {
            var hint = r.Root == "item" ? " '@item' exists only in a step with 'forEach' or inside '@each'." : Loading.YamlBinder.Suggest(r.Root, Steps) is { } s ? $" Did you mean '@{s}'?" : "";
            error(path, $"'{text}' refers to '{r.Root}', which is not a step of this composition.{hint}");
            return null;
        }

        if (r.Segments.Count > 0 && (r.Segments[0].Kind != RefSegmentKind.Field || r.Segments[0].Name is not ("body" or "status" or "headers")))
        {
            error(path, $"'{text}': after a step name comes 'body', 'status' or 'headers', e.g. '@{r.Root}.body.id'.");
            return null;
        }

        if (r.Segments.Count > 1 && r.Segments[0].Name == "status")
        {
            error(path, $"'{text}': a status is a number, it has no fields.");
            return null;
        }

        used.Add(r.Root);
        return r.Segments.Count == 0 ? new ValueRef(r.Text, r.Root, [new RefSegment(RefSegmentKind.Field, "body", 0)]) : r;
    }

    private Template Compile(JsonNode? node, string path, IReadOnlyCollection<string> scope, ISet<string> used, Template? defaultBase)
    {
        switch (node)
        {
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                var text = v.GetValue<string>();
                if (text.StartsWith("@@", StringComparison.Ordinal))
                {
                    return new LiteralTemplate(JsonValue.Create(text[1..]));
                }

                if (ValueRef.IsReference(text))
                {
                    return Reference(text, path, scope, used) is { } r ? new RefTemplate(r) : new LiteralTemplate(null);
                }

                return new LiteralTemplate(JsonValue.Create(text));
            case JsonArray a:
                return new ArrayTemplate([.. a.Select((item, i) => Compile(item, $"{path}[{i}]", scope, used, null))]);
            case JsonObject o:
                return CompileObject(o, path, scope, used, defaultBase);
            default:
                return new LiteralTemplate(node?.DeepClone());
        }
    }

    private Template CompileObject(JsonObject o, string path, IReadOnlyCollection<string> scope, ISet<string> used, Template? defaultBase)
    {
        var directives = o.Where(p => p.Key.StartsWith('@') && !p.Key.StartsWith("@@", StringComparison.Ordinal)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        string At(string key) => $"{path}.{key}";
        foreach (var key in directives.Keys.Where(k => !Directives.Contains(k)))
        {
            error(At(key), $"'{key}' is not a template directive; use one of {string.Join(", ", Directives)}, or write '@{key}' for a literal key.");
        }

        if (directives.ContainsKey("@each"))
        {
            var alias = "item";
            if (directives.TryGetValue("@as", out var asNode))
            {
                alias = asNode is JsonValue av && av.GetValueKind() == JsonValueKind.String ? av.GetValue<string>() : "";
                if (alias.Length == 0 || !alias.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') || alias is "request" or "this" || Steps.Contains(alias))
                {
                    error(At("@as"), "'@as' names each element: letters, digits, '_' or '-', not 'request', 'this' or a step name.");
                    alias = "item";
                }
            }

            var source = Compile(directives["@each"], At("@each"), scope, used, null);
            var inner = new List<string>(scope) { alias };
            var rest = new JsonObject();
            foreach (var (k, v) in o)
            {
                if (k is not ("@each" or "@as"))
                {
                    rest[k] = v?.DeepClone();
                }
            }

            var element = rest.Count == 0 ? new RefTemplate(new ValueRef("@" + alias, alias, [])) : CompileObject(rest, path, inner, used, new RefTemplate(new ValueRef("@" + alias, alias, [])));
            return new EachTemplate(source, alias, element);
        }

        if (directives.ContainsKey("@as"))
        {
            error(At("@as"), "'@as' goes with '@each'.");
        }

        var bases = BaseDirectives.Where(directives.ContainsKey).ToList();
        if (bases.Count > 1)
        {
            error(path, $"an object template has at most one of '@value', '@lookup', '@merge', '@sum', '@number', '@string'; this one has {string.Join(" and ", bases)}.");
        }

        var written = o.Where(p => !directives.ContainsKey(p.Key)).ToList();
        Template? @base = null;
        if (bases.Count >= 1)
        {
            var key = bases[0];
            @base = key switch
            {
                "@value" => Compile(directives[key], At(key), scope, used, null),
                "@lookup" => CompileLookup(directives, path, scope, used),
                "@merge" => directives[key] is JsonArray parts
                    ? new MergeTemplate([.. parts.Select((p, i) => Compile(p, $"{At(key)}[{i}]", scope, used, null))])
                    : Fail(At(key), "'@merge' takes a list, e.g. ['@a.body', '@b.body']."),
                "@number" or "@string" => CompileConversion(key, directives[key], o, path, scope, used),
                _ => CompileSum(directives, path, scope, used),
            };
        }

        foreach (var (dependent, needs) in new[] { ("@by", "@lookup"), ("@key", "@lookup"), ("@of", "@sum") })
        {
            if (directives.ContainsKey(dependent) && !directives.ContainsKey(needs))
            {
                error(At(dependent), $"'{dependent}' goes with '{needs}'.");
            }
        }

        var select = Names(directives, "@select", path);
        var omit = Names(directives, "@omit", path);
        List<KeyValuePair<string, string>>? rename = null;
        if (directives.TryGetValue("@rename", out var renameNode))
        {
            if (renameNode is JsonObject map && map.All(p => p.Value is JsonValue pv && pv.GetValueKind() == JsonValueKind.String))
            {
                rename = [.. map.Select(p => new KeyValuePair<string, string>(p.Key, p.Value!.GetValue<string>()))];
            }
            else
            {
                error(At("@rename"), "'@rename' maps old field names to new ones, e.g. { name: title }.");
            }
        }

        var reshapes = select is not null || omit is not null || rename is not null;
        if (@base is null && reshapes && written.Count == 0)
        {
            if (defaultBase is null)
            {
                error(path, "'@select', '@omit' and '@rename' reshape a value: add '@value', '@lookup' or '@merge' to say which.");
                return new ObjectTemplate([]);
            }

            // Inside '@each', an object of nothing but '@select', '@omit' or '@rename' reshapes the element.
            @base = defaultBase;
        }

        // The written keys see the base (or, without one, the keys above them) as @this.
        var fields = new List<KeyValuePair<string, Template>>();
        PushFrame(@base is not null);
        foreach (var (k, v) in written)
        {
            var name = k.StartsWith("@@", StringComparison.Ordinal) ? k[1..] : k;
            var template = Compile(v, At(k), scope, used, null);
            fields.Add(new(name, template));
            Wrote(name, template);
        }

        PopFrame();
        if (@base is null)
        {
            if (!reshapes)
            {
                return new ObjectTemplate(fields);
            }

            // No base: the object is its written keys, and '@omit'/'@rename' reshape them (the user's "attach, then drop
            // the join key"). '@select' picks fields of a base, so it has nothing to pick from here.
            CheckReshapeOfWrittenKeys(path, defaultBase is not null, fields, select, omit, rename);
            return new ShapeTemplate(new ObjectTemplate([]), null, omit, rename, fields);
        }

        if (@base is ConversionTemplate)
        {
            return @base;
        }

        CheckRenameAfterSelect(path, fields, select, rename);
        return !reshapes && fields.Count == 0
            ? @base
            : new ShapeTemplate(@base, select, omit, rename, fields);
    }

    private LookupTemplate CompileLookup(Dictionary<string, JsonNode?> d, string path, IReadOnlyCollection<string> scope, ISet<string> used)
    {
        var source = Compile(d["@lookup"], $"{path}.@lookup", scope, used, null);
        Template by = new LiteralTemplate(null);
        if (d.TryGetValue("@by", out var byNode))
        {
            by = Compile(byNode, $"{path}.@by", scope, used, null);
        }
        else
        {
            error(path, "'@lookup' needs '@by', the value to find, e.g. '@by': '@item.productId'.");
        }

        var key = "id";
        if (d.TryGetValue("@key", out var keyNode))
        {
            key = keyNode is JsonValue kv && kv.GetValueKind() == JsonValueKind.String ? kv.GetValue<string>() : "";
            if (key.Length == 0)
            {
                error($"{path}.@key", "'@key' is the field name to match, e.g. id.");
            }
        }

        return new LookupTemplate(source, by, key);
    }

    private Template CompileSum(Dictionary<string, JsonNode?> d, string path, IReadOnlyCollection<string> scope, ISet<string> used)
    {
        var source = Compile(d["@sum"], $"{path}.@sum", scope, used, null);
        var of = Names(d, "@of", path);
        if (of is null || of.Count == 0)
        {
            error($"{path}.@of", "'@sum' needs '@of', the fields multiplied per element, e.g. [quantity, product.price].");
            of = [];
        }

        return new SumTemplate(source, [.. of.Select(f => f.Split('.'))]);
    }

    private List<string>? Names(Dictionary<string, JsonNode?> d, string key, string path)
    {
        if (!d.TryGetValue(key, out var node))
        {
            return null;
        }

        if (node is JsonArray a && a.All(n => n is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length > 0))
        {
            return [.. a.Select(n => n!.GetValue<string>())];
        }

        error($"{path}.{key}", $"'{key}' takes a list of field names, e.g. [id, name].");
        return [];
    }

    private LiteralTemplate Fail(string path, string message)
    {
        error(path, message);
        return new LiteralTemplate(null);
    }
}
