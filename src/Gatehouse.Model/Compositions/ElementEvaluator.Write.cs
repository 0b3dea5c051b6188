using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Gatehouse.Model.Compositions;

/// <summary>The streaming half: templates written straight to the answer's writer, nothing built that nothing reads.</summary>
public sealed partial class ElementEvaluator
{
    private static readonly ConditionalWeakTable<ObjectTemplate, ThisReads> s_reads = [];

    private void Write(Template t, Utf8JsonWriter writer)
    {
        switch (t)
        {
            case LiteralTemplate { Value: var node }:
                if (node is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    node.WriteTo(writer);
                }

                break;
            case RefTemplate { Ref: var r }:
                if (r.HasWildcard)
                {
                    var matches = new List<ElementValue>();
                    Walk(Start(r, out var consumed, out _), r.Segments, consumed, matches);
                    writer.WriteStartArray();
                    foreach (var match in matches)
                    {
                        match.WriteTo(writer);
                    }

                    writer.WriteEndArray();
                }
                else
                {
                    Single(r, out _).WriteTo(writer);
                }

                break;
            case ArrayTemplate a:
                writer.WriteStartArray();
                for (var i = 0; i < a.Items.Count; i++)
                {
                    Write(a.Items[i], writer);
                }

                writer.WriteEndArray();
                break;
            case ObjectTemplate o:
                WriteObject(o, writer);
                break;
            case EachTemplate e:
                writer.WriteStartArray();
                foreach (var element in Source(e.Source).EnumerateItems())
                {
                    Push(e.Alias, element);
                    Write(e.Element, writer);
                    Pop();
                }

                writer.WriteEndArray();
                break;
            case LookupTemplate l:
                Lookup(l).WriteTo(writer);
                break;
            default:
                // @merge, @sum and reshaping build their (small) result first: a later field may replace an earlier one in place.
                Value(t).WriteTo(writer);
                break;
        }
    }

    private void WriteObject(ObjectTemplate o, Utf8JsonWriter writer)
    {
        var reads = s_reads.GetValue(o, static o => new ThisReads(o));
        if (reads.RepeatsNames)
        {
            Value(o).WriteTo(writer);
            return;
        }

        if (!reads.Any)
        {
            // Nothing inside reads @this: every field goes straight to the writer.
            writer.WriteStartObject();
            for (var i = 0; i < o.Fields.Count; i++)
            {
                writer.WritePropertyName(reads.Names[i]);
                Write(o.Fields[i].Value, writer);
            }

            writer.WriteEndObject();
            return;
        }

        // The fields a later one may read (@this.NAME) are built and kept; the others are written as they are evaluated.
        List<KeyValuePair<string, ElementValue>> self = new(reads.Kept);
        Push(This, ElementValue.Fields(self));
        writer.WriteStartObject();
        for (var i = 0; i < o.Fields.Count; i++)
        {
            var (key, template) = o.Fields[i];
            writer.WritePropertyName(reads.Names[i]);
            if (reads.Reads(key))
            {
                var value = Value(template);
                self.Add(new(key, value));
                value.WriteTo(writer);
            }
            else
            {
                Write(template, writer);
            }
        }

        writer.WriteEndObject();
        Pop();
    }

    /// <summary>
    /// Which fields of an object template something inside it reads as <c>@this.NAME</c> (or all, for <c>@this</c>).
    /// Conservative: a read by a nested object of its own fields counts too; that only builds a little more.
    /// </summary>
    private sealed class ThisReads
    {
        private readonly HashSet<string> _names = new(StringComparer.Ordinal);
        private bool _all;

        public ThisReads(ObjectTemplate o)
        {
            Names = [.. o.Fields.Select(f => JsonEncodedText.Encode(f.Key))];
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, template) in o.Fields)
            {
                RepeatsNames |= !seen.Add(key);
                Visit(template);
            }

            Kept = _all ? o.Fields.Count : o.Fields.Count(f => _names.Contains(f.Key));
        }

        /// <summary>How many of the object's fields are built and kept while it is written (the list's capacity).</summary>
        public int Kept { get; }

        /// <summary>The fields' names, encoded once (the writer neither escapes nor transcodes them per answer).</summary>
        public JsonEncodedText[] Names { get; }

        /// <summary>Whether two fields have one name (the later replaces the earlier in place): then the object is built, not streamed.</summary>
        public bool RepeatsNames { get; }

        public bool Any => _all || _names.Count > 0;

        public bool Reads(string name) => _all || _names.Contains(name);

        private void Visit(Template t)
        {
            switch (t)
            {
                case RefTemplate { Ref: { Root: This } r }:
                    if (r.Segments.Count == 0)
                    {
                        _all = true;
                    }
                    else if (r.Segments[0].Kind == RefSegmentKind.Field)
                    {
                        _names.Add(r.Segments[0].Name);
                    }

                    break;
                case ArrayTemplate a:
                    a.Items.ToList().ForEach(Visit);
                    break;
                case ObjectTemplate o:
                    o.Fields.ToList().ForEach(f => Visit(f.Value));
                    break;
                case EachTemplate e:
                    Visit(e.Source);
                    Visit(e.Element);
                    break;
                case LookupTemplate l:
                    Visit(l.Source);
                    Visit(l.By);
                    break;
                case MergeTemplate m:
                    m.Parts.ToList().ForEach(Visit);
                    break;
                case SumTemplate s:
                    Visit(s.Source);
                    break;
                case ConversionTemplate c:
                    Visit(c.Source);
                    break;
                case ShapeTemplate s:
                    Visit(s.Base);
                    s.Extra.ToList().ForEach(f => Visit(f.Value));
                    break;
            }
        }
    }
}
