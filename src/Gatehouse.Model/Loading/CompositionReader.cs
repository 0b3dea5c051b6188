using System.Globalization;
using System.Text.Json.Nodes;
using Gatehouse.Model.Config;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>Binds <c>compositions</c>. Templates become JSON trees here; their language is checked by the validator.</summary>
internal sealed class CompositionReader(YamlBinder b)
{
    private const int MaxTemplateDepth = 64;

    public IReadOnlyDictionary<string, CompositionConfig> Read(YamlNode node, string path)
    {
        var result = new Dictionary<string, CompositionConfig>(StringComparer.Ordinal);
        foreach (var (id, value, at) in b.NamedEntries(node, path))
        {
            if (ReadComposition(value, at) is { } c)
            {
                result[id] = c;
            }
        }

        return result;
    }

    private CompositionConfig? ReadComposition(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "method", "path", "host", "operation", "tags", "requireScopes", "inputs", "steps", "response", "deadline", "serverTiming", "maxDepth", "maxBodySize", "maxItems");
        if (map is null)
        {
            return null;
        }

        string At(string key) => YamlBinder.Join(path, key);
        if (!map.TryGetValue("path", out var pathNode))
        {
            b.Error(At("path"), node, "'path' is required: the public path template, e.g. '/users/{id}/order-history'.");
            return null;
        }

        var c = new CompositionConfig { Path = b.String(pathNode, At("path")) ?? "" };
        if (map.TryGetValue("method", out var m) && b.String(m, At("method")) is { } method)
        {
            c = c with { Method = method.ToUpperInvariant() };
        }

        if (map.TryGetValue("host", out var h))
        {
            c = c with { Host = b.String(h, At("host")) };
        }

        if (map.TryGetValue("operation", out var op))
        {
            c = c with { Operation = b.String(op, At("operation")) };
        }

        if (map.TryGetValue("tags", out var tags))
        {
            c = c with { Tags = b.StringList(tags, At("tags")) };
        }

        if (map.TryGetValue("requireScopes", out var scopes))
        {
            c = c with { RequireScopes = b.StringList(scopes, At("requireScopes")) };
        }

        if (map.TryGetValue("inputs", out var inputs))
        {
            var found = new Dictionary<string, CompositionInputConfig>(StringComparer.Ordinal);
            foreach (var (name, value, inputPath) in b.NamedEntries(inputs, At("inputs")))
            {
                if (ReadInput(value, inputPath) is { } input)
                {
                    found[name] = input;
                }
            }

            c = c with { Inputs = found };
        }

        if (map.TryGetValue("steps", out var steps))
        {
            var dict = new Dictionary<string, CompositionStepConfig>(StringComparer.Ordinal);
            foreach (var (name, value, stepPath) in b.NamedEntries(steps, At("steps")))
            {
                if (ReadStep(value, stepPath) is { } step)
                {
                    dict[name] = step;
                }
            }

            c = c with { Steps = dict };
        }

        if (map.TryGetValue("response", out var response))
        {
            c = c with { Response = Json(response, At("response"), 0) };
        }

        if (map.TryGetValue("deadline", out var d) && b.Duration(d, At("deadline")) is { } deadline)
        {
            c = c with { Deadline = deadline };
        }

        if (map.TryGetValue("serverTiming", out var st) && b.Bool(st, At("serverTiming")) is { } serverTiming)
        {
            c = c with { ServerTiming = serverTiming };
        }

        if (map.TryGetValue("maxDepth", out var md) && b.Int(md, At("maxDepth"), 1) is { } maxDepth)
        {
            c = c with { MaxDepth = maxDepth };
        }

        if (map.TryGetValue("maxBodySize", out var mb) && b.Size(mb, At("maxBodySize")) is { } maxBody)
        {
            c = c with { MaxBodySize = maxBody };
        }

        if (map.TryGetValue("maxItems", out var mi) && b.Int(mi, At("maxItems"), 1) is { } maxItems)
        {
            c = c with { MaxItems = maxItems };
        }

        return c;
    }

    private CompositionInputConfig? ReadInput(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "in", "required", "schema");
        if (map is null)
        {
            return null;
        }

        string At(string key) => YamlBinder.Join(path, key);
        var input = new CompositionInputConfig();
        if (map.TryGetValue("in", out var place) && b.Enum<CompositionInputPlace>(place, At("in")) is { } where)
        {
            input = input with { In = where };
        }

        if (map.TryGetValue("required", out var r) && b.Bool(r, At("required")) is { } required)
        {
            input = input with { Required = required };
        }

        if (map.TryGetValue("schema", out var schema))
        {
            input = input with { Schema = Json(schema, At("schema"), 0) };
        }

        return input;
    }

    private CompositionStepConfig? ReadStep(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "operation", "service", "method", "path", "params", "query", "headers", "body", "forEach", "concurrency", "maxItems", "batch", "optional", "timeout", "statusMap", "forwardCredential", "whenEmpty");
        if (map is null)
        {
            return null;
        }

        string At(string key) => YamlBinder.Join(path, key);
        var s = new CompositionStepConfig();
        string? Text(string key) => map.TryGetValue(key, out var n) ? b.String(n, At(key)) : null;
        s = s with { Operation = Text("operation"), Service = Text("service"), Method = Text("method")?.ToUpperInvariant(), Path = Text("path"), ForEach = Text("forEach") };
        if (map.TryGetValue("params", out var p))
        {
            s = s with { Params = Strings(p, At("params")) };
        }

        if (map.TryGetValue("query", out var q))
        {
            s = s with { Query = Strings(q, At("query")) };
        }

        if (map.TryGetValue("headers", out var hs))
        {
            s = s with { Headers = Strings(hs, At("headers")) };
        }

        if (map.TryGetValue("body", out var body))
        {
            s = s with { Body = Json(body, At("body"), 0) };
        }

        if (map.TryGetValue("concurrency", out var cc) && b.Int(cc, At("concurrency"), 1) is { } concurrency)
        {
            s = s with { Concurrency = concurrency };
        }

        if (map.TryGetValue("maxItems", out var mi) && b.Int(mi, At("maxItems"), 1) is { } maxItems)
        {
            s = s with { MaxItems = maxItems };
        }

        if (map.TryGetValue("batch", out var batch) && b.Mapping(batch, At("batch"), "param", "separator", "key", "missing") is { } bm)
        {
            if (!bm.TryGetValue("param", out var param) || b.String(param, YamlBinder.Join(At("batch"), "param")) is not { Length: > 0 } paramName)
            {
                b.Error(YamlBinder.Join(At("batch"), "param"), batch, "'param' is required: the query parameter that carries the items, e.g. ids.");
            }
            else
            {
                var bc = new CompositionBatchConfig { Param = paramName };
                if (bm.TryGetValue("separator", out var sep) && b.String(sep, YamlBinder.Join(At("batch"), "separator")) is { } separator)
                {
                    bc = bc with { Separator = separator };
                }

                if (bm.TryGetValue("key", out var key) && b.String(key, YamlBinder.Join(At("batch"), "key")) is { } k)
                {
                    bc = bc with { Key = k };
                }

                if (bm.TryGetValue("missing", out var missing) && b.String(missing, YamlBinder.Join(At("batch"), "missing")) is { } mode)
                {
                    if (Enum.TryParse<BatchMissing>(mode, ignoreCase: true, out var parsed) && mode.All(char.IsAsciiLetter))
                    {
                        bc = bc with { Missing = parsed };
                    }
                    else
                    {
                        b.Error(YamlBinder.Join(At("batch"), "missing"), missing, $"'{mode}' is not a choice; write drop (the default: keep what came back), null (a null per missing item) or fail (fail the step).");
                    }
                }

                s = s with { Batch = bc };
            }
        }

        if (map.TryGetValue("optional", out var o) && b.Bool(o, At("optional")) is { } optional)
        {
            s = s with { Optional = optional };
        }

        if (map.TryGetValue("forwardCredential", out var fc) && b.Bool(fc, At("forwardCredential")) is { } forward)
        {
            s = s with { ForwardCredential = forward };
        }

        if (map.TryGetValue("timeout", out var t) && b.Duration(t, At("timeout")) is { } timeout)
        {
            s = s with { Timeout = timeout };
        }

        if (map.TryGetValue("whenEmpty", out var we) && b.Int(we, At("whenEmpty"), 100) is { } whenEmpty)
        {
            if (whenEmpty > 599)
            {
                b.Error(At("whenEmpty"), we, $"{whenEmpty} is not an HTTP status; write the status to answer when the step's answer is empty, e.g. 404.");
            }
            else
            {
                s = s with { WhenEmpty = whenEmpty };
            }
        }

        if (map.TryGetValue("statusMap", out var sm))
        {
            var statuses = new Dictionary<int, int>();
            foreach (var (from, to, entryPath) in b.NamedEntries(sm, At("statusMap")))
            {
                if (!int.TryParse(from, NumberStyles.None, CultureInfo.InvariantCulture, out var f) || f is < 100 or > 599)
                {
                    b.Error(entryPath, to, $"'{from}' is not an HTTP status; map an upstream status to the one to answer, e.g. 404: 404.");
                }
                else if (b.Int(to, entryPath, 100) is { } answer)
                {
                    if (answer > 599)
                    {
                        b.Error(entryPath, to, $"{answer} is not an HTTP status.");
                    }
                    else
                    {
                        statuses[f] = answer;
                    }
                }
            }

            s = s with { StatusMap = statuses };
        }

        return s;
    }

    private Dictionary<string, string> Strings(YamlNode node, string path)
    {
        var dict = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value, at) in b.NamedEntries(node, path))
        {
            if (b.String(value, at) is { } text)
            {
                dict[name] = text;
            }
        }

        return dict;
    }

    /// <summary>A YAML tree as JSON: plain scalars follow the YAML 1.2 core schema, quoted ones are strings.</summary>
    internal JsonNode? Json(YamlNode node, string path, int depth)
    {
        if (depth > MaxTemplateDepth)
        {
            b.Error(path, node, $"a template nests deeper than {MaxTemplateDepth} levels.");
            return null;
        }

        switch (node)
        {
            case YamlMappingNode map:
                var o = new JsonObject();
                foreach (var (k, v) in map.Children)
                {
                    var key = (k as YamlScalarNode)?.Value ?? "";
                    o[key] = Json(v, YamlBinder.Join(path, key), depth + 1);
                }

                return o;
            case YamlSequenceNode seq:
                return new JsonArray([.. seq.Children.Select((c, i) => Json(c, $"{path}[{i}]", depth + 1))]);
            case YamlScalarNode scalar:
                var text = b.String(scalar, path) ?? "";
                if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any))
                {
                    return JsonValue.Create(text);
                }

                return text switch
                {
                    "" or "~" or "null" => null,
                    "true" => JsonValue.Create(true),
                    "false" => JsonValue.Create(false),
                    _ when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => JsonValue.Create(l),
                    _ when decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && text.Any(char.IsDigit) => JsonValue.Create(d),
                    _ => JsonValue.Create(text),
                };
            default:
                b.Error(path, node, "expected a JSON value.");
                return null;
        }
    }
}
