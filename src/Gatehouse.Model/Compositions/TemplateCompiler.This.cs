using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Model.Compositions;

/// <summary>
/// The load-time checks of <c>@this</c> and of reshaping: a reference that can never find a value, and an <c>@omit</c>,
/// <c>@rename</c> or <c>@select</c> that can never apply, are config errors with a fix, not nulls at request time.
/// </summary>
/// <remarks>
/// What is known is what the template itself says: the keys written in an object, what an <c>@select</c> keeps and
/// what an <c>@omit</c> or <c>@rename</c> takes away. A backend's body has no known shape, so a field read from one
/// (through <c>@value</c> or <c>@lookup</c>) is never refused.
/// </remarks>
public sealed partial class TemplateCompiler
{
    // One frame per object template whose written keys are being compiled: what @this is while they are evaluated.
    private readonly List<Frame> _frames = [];

    private sealed class Frame(bool hasBase)
    {
        /// <summary>Whether the object starts from a base value, whose fields are not known here.</summary>
        public bool HasBase { get; } = hasBase;

        /// <summary>The keys written so far, each with its template.</summary>
        public List<KeyValuePair<string, Template>> Written { get; } = [];
    }

    private void PushFrame(bool hasBase) => _frames.Add(new Frame(hasBase));

    private void PopFrame() => _frames.RemoveAt(_frames.Count - 1);

    private void Wrote(string name, Template template) => _frames[^1].Written.Add(new(name, template));

    /// <summary>Whether <paramref name="r"/> (rooted at <c>this</c>) can find a value; reports why not.</summary>
    private bool CheckThis(ValueRef r, string path)
    {
        if (_frames.Count == 0)
        {
            error(path, $"'{r.Text}': '@this' is the object being written, and there is none here; '@this.NAME' reads a field written above it in the same template object.");
            return false;
        }

        if (r.Segments.Count == 0)
        {
            return true;
        }

        var frame = _frames[^1];
        var first = r.Segments[0];
        if (first.Kind != RefSegmentKind.Field)
        {
            error(path, $"'{r.Text}': '@this' is an object; write '@this.NAME'.");
            return false;
        }

        var at = frame.Written.FindLastIndex(f => f.Key == first.Name);
        if (at < 0)
        {
            if (frame.HasBase)
            {
                // A field of the base value (a backend's object) may be there.
                return true;
            }

            var above = frame.Written.Count == 0 ? "none" : string.Join(", ", frame.Written.Select(f => f.Key));
            error(path, $"'{r.Text}' can never have a value: this object has no '@value', so its fields are the keys written above this one ({above}), and '{first.Name}' is not one of them. Write '{first.Name}' above this key, or add '@value' to start from a value that has it.");
            return false;
        }

        return CheckPath(r, frame.Written[at].Value, 1, path);
    }

    /// <summary>Follows the segments of <paramref name="r"/> from <paramref name="index"/> into what <paramref name="template"/> is known to make.</summary>
    private bool CheckPath(ValueRef r, Template? template, int index, string path)
    {
        for (var i = index; i < r.Segments.Count && template is not null; i++)
        {
            var segment = r.Segments[i];
            var reached = string.Join("", r.Segments.Take(i).Select(s => s.Kind == RefSegmentKind.Field ? "." + s.Name : $"[{s.Name}]"));
            switch (Describe(template))
            {
                case KnownObject o when segment.Kind == RefSegmentKind.Field:
                    if (o.Removed.TryGetValue(segment.Name, out var how))
                    {
                        error(path, $"'{r.Text}' can never have a value: '@this{reached}' has no '{segment.Name}', because {how}. Read it before it is removed, or keep it.");
                        return false;
                    }

                    if (o.Fields.TryGetValue(segment.Name, out var field))
                    {
                        template = field;
                    }
                    else if (o.Closed)
                    {
                        error(path, $"'{r.Text}' can never have a value: '@this{reached}' only has {(o.Fields.Count == 0 ? "no fields" : string.Join(", ", o.Fields.Keys))}.");
                        return false;
                    }
                    else
                    {
                        template = null;
                    }

                    break;
                case KnownObject:
                    error(path, $"'{r.Text}' can never have a value: '@this{reached}' is an object, not a list; write '.NAME' after it.");
                    return false;
                case KnownList l when segment.Kind != RefSegmentKind.Field:
                    template = l.Element;
                    break;
                case KnownList:
                    error(path, $"'{r.Text}' can never have a value: '@this{reached}' is a list; write '[*]' for every element or '[N]' for one.");
                    return false;
                case KnownScalar s:
                    error(path, $"'{r.Text}' can never have a value: '@this{reached}' is {s.What}, which has no fields or elements.");
                    return false;
                default:
                    return true;
            }
        }

        return true;
    }

    private abstract record Known;

    /// <summary>An object: the fields known (with their templates when known), whether it has only those, and what was removed and how.</summary>
    private sealed record KnownObject(bool Closed, Dictionary<string, Template?> Fields, Dictionary<string, string> Removed) : Known;

    private sealed record KnownList(Template? Element) : Known;

    private sealed record KnownScalar(string What) : Known;

    /// <summary>What a template is known to make; null when nothing is known (a backend's value, a join).</summary>
    private static Known? Describe(Template template)
    {
        switch (template)
        {
            case ObjectTemplate o:
                var fields = new Dictionary<string, Template?>(StringComparer.Ordinal);
                foreach (var (k, v) in o.Fields)
                {
                    fields[k] = v;
                }

                return new KnownObject(true, fields, []);
            case ShapeTemplate s:
                return DescribeShape(s);
            case EachTemplate e:
                return new KnownList(e.Element);
            case ArrayTemplate:
                return new KnownList(null);
            case SumTemplate:
                return new KnownScalar("a number (an '@sum')");
            case ConversionTemplate c:
                return new KnownScalar(c.To == ValueConversion.Number ? "a number (an '@number')" : "a string (an '@string')");
            case LiteralTemplate { Value: JsonObject literal }:
                return new KnownObject(true, literal.ToDictionary(p => p.Key, p => (Template?)new LiteralTemplate(p.Value), StringComparer.Ordinal), []);
            case LiteralTemplate { Value: JsonArray }:
                return new KnownList(null);
            case LiteralTemplate { Value: JsonValue v } when v.GetValueKind() is not JsonValueKind.Null:
                return new KnownScalar($"the literal {v.ToJsonString()}");
            default:
                return null;
        }
    }

    private static KnownObject? DescribeShape(ShapeTemplate s)
    {
        var noBase = s.Base is ObjectTemplate { Fields.Count: 0 };
        var @base = noBase ? new KnownObject(true, [], []) : Describe(s.Base) as KnownObject;
        var closed = noBase || s.Select is not null || @base?.Closed == true;
        var fields = new Dictionary<string, Template?>(StringComparer.Ordinal);
        var removed = new Dictionary<string, string>(StringComparer.Ordinal);
        if (s.Select is { } select)
        {
            foreach (var name in select)
            {
                fields[name] = @base?.Fields.GetValueOrDefault(name);
            }
        }
        else if (@base is not null)
        {
            foreach (var (k, v) in @base.Fields)
            {
                fields[k] = v;
            }
        }

        foreach (var (k, v) in s.Extra)
        {
            fields[k] = v;
        }

        foreach (var name in s.Omit ?? [])
        {
            fields.Remove(name);
            removed[name] = $"'@omit' removes it";
        }

        foreach (var (from, to) in s.Rename ?? [])
        {
            var had = fields.Remove(from, out var moved);
            if (had || !closed)
            {
                fields[to] = moved;
                removed.Remove(to);
            }

            removed[from] = $"'@rename' renames it to '{to}'";
        }

        return new KnownObject(closed, fields, removed);
    }

    /// <summary>Without a base, an object is its written keys: '@omit' and '@rename' must name one of them, and '@select' has nothing to pick.</summary>
    private void CheckReshapeOfWrittenKeys(string path, bool inEach, List<KeyValuePair<string, Template>> fields,
        List<string>? select, List<string>? omit, List<KeyValuePair<string, string>>? rename)
    {
        var names = fields.Select(f => f.Key).ToHashSet(StringComparer.Ordinal);
        var start = inEach ? "'@value': '@item'" : "'@value'";
        if (select is not null)
        {
            error($"{path}.@select", $"'@select' picks fields of a base value, and this object has none: its fields are the keys written in it ({string.Join(", ", names)}). Remove '@select' and write only the keys you want, or add {start} to pick from that value.");
        }

        foreach (var name in (omit ?? []).Where(n => !names.Contains(n)))
        {
            error($"{path}.@omit", $"'@omit' removes '{name}', which this object can never have: it has no '@value', so its fields are the keys written in it ({string.Join(", ", names)}). Add {start} to start from a value that has '{name}', or remove it from '@omit'.");
        }

        foreach (var (from, _) in (rename ?? []).Where(r => !names.Contains(r.Key)))
        {
            error($"{path}.@rename", $"'@rename' renames '{from}', which this object can never have: it has no '@value', so its fields are the keys written in it ({string.Join(", ", names)}). Add {start} to start from a value that has '{from}', or remove it from '@rename'.");
        }
    }

    /// <summary>After '@select', only the selected fields and the written keys are left to rename.</summary>
    private void CheckRenameAfterSelect(string path, List<KeyValuePair<string, Template>> fields, List<string>? select, List<KeyValuePair<string, string>>? rename)
    {
        if (select is null || rename is null)
        {
            return;
        }

        foreach (var (from, _) in rename.Where(r => !select.Contains(r.Key) && !fields.Any(f => f.Key == r.Key)))
        {
            error($"{path}.@rename", $"'@rename' renames '{from}', which '@select' leaves out, so there is nothing to rename; add '{from}' to '@select' or remove it from '@rename'.");
        }
    }

    private Template CompileConversion(string key, JsonNode? value, JsonObject o, string path, IReadOnlyCollection<string> scope, ISet<string> used)
    {
        if (o.Count > 1)
        {
            error(path, $"'{key}' converts one value and stands alone in its object, e.g. {{ \"{key}\": \"@request.path.id\" }}; put the other keys in the object around it.");
        }

        return new ConversionTemplate(Compile(value, $"{path}.{key}", scope, used, null), key == "@number" ? ValueConversion.Number : ValueConversion.String);
    }
}
