using System.Text;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Gatehouse.Model.Loading;

/// <summary>
/// The YAML parser's events for a document that is strict JSON, read with System.Text.Json. JSON is the YAML subset
/// it is, so the events (and so the nodes, scalar styles, line numbers and duplicate-key errors) are the ones
/// YamlDotNet's own parser produces for the same text, without its character-by-character scanner; YamlDotNet has no
/// JSON path of its own. Building the node tree from the events still costs what it did, so on the 14 MB document of
/// 10,000 routes and 100,000 applications a whole load is only slightly faster (bench/Gatehouse.Bench.Applies, "loader");
/// changes made through the admin API avoid whole loads instead (IncrementalConfigLoader).
/// </summary>
public sealed class JsonYamlParser : IParser
{
    // Deeper than any configuration or API document; deeper JSON goes through the YAML parser, which has no such limit.
    private const int MaxDepth = 256;

    private readonly List<ParsingEvent> _events;
    private int _next;

    private JsonYamlParser(List<ParsingEvent> events) => _events = events;

    /// <inheritdoc />
    public ParsingEvent? Current { get; private set; }

    /// <summary>
    /// A parser over <paramref name="text"/> when it is one strict JSON object or array (what the store and most
    /// machine-written files hold); null for anything else, which the YAML parser then reads (and reports on).
    /// </summary>
    public static IParser? TryCreate(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var first = text.AsSpan().TrimStart();
        if (first.IsEmpty || (first[0] != '{' && first[0] != '['))
        {
            return null;
        }

        var utf8 = Encoding.UTF8.GetBytes(text);
        try
        {
            return new JsonYamlParser(Read(utf8));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public bool MoveNext()
    {
        if (_next >= _events.Count)
        {
            Current = null;
            return false;
        }

        Current = _events[_next++];
        return true;
    }

    private static List<ParsingEvent> Read(byte[] utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
        var lines = new LineCounter(utf8);
        var events = new List<ParsingEvent>(utf8.Length / 16);
        var origin = new Mark(0, 1, 1);
        events.Add(new StreamStart(origin, origin));
        events.Add(new DocumentStart(origin, origin));
        while (reader.Read())
        {
            var at = lines.MarkAt(reader.TokenStartIndex);
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    events.Add(new MappingStart(AnchorName.Empty, TagName.Empty, true, MappingStyle.Flow, at, at));
                    break;
                case JsonTokenType.EndObject:
                    events.Add(new MappingEnd(at, at));
                    break;
                case JsonTokenType.StartArray:
                    events.Add(new SequenceStart(AnchorName.Empty, TagName.Empty, true, SequenceStyle.Flow, at, at));
                    break;
                case JsonTokenType.EndArray:
                    events.Add(new SequenceEnd(at, at));
                    break;
                case JsonTokenType.PropertyName:
                    events.Add(Quoted(reader.GetString()!, at, isKey: true));
                    break;
                case JsonTokenType.String:
                    events.Add(Quoted(reader.GetString()!, at, isKey: false));
                    break;
                default:
                    // Numbers, true, false and null: plain scalars of their text, as YAML reads them.
                    // One contiguous buffer, so the value is never a sequence.
                    var raw = Encoding.UTF8.GetString(reader.ValueSpan);
                    events.Add(new Scalar(AnchorName.Empty, TagName.Empty, raw, ScalarStyle.Plain, true, false, at, at, false));
                    break;
            }
        }

        var end = lines.MarkAt(utf8.Length);
        events.Add(new DocumentEnd(true, end, end));
        events.Add(new StreamEnd(end, end));
        return events;
    }

    private static Scalar Quoted(string value, Mark at, bool isKey) =>
        new(AnchorName.Empty, TagName.Empty, value, ScalarStyle.DoubleQuoted, false, true, at, at, isKey);

    /// <summary>Line and column (1-based, as YamlDotNet counts; the column in bytes) of offsets visited in increasing order.</summary>
    private struct LineCounter(byte[] utf8)
    {
        private int _scanned;
        private int _line = 1;
        private int _lineStart;

        public Mark MarkAt(long offset)
        {
            var to = (int)Math.Min(offset, utf8.Length);
            for (var i = utf8.AsSpan(_scanned, to - _scanned).IndexOf((byte)'\n'); i >= 0; i = utf8.AsSpan(_scanned, to - _scanned).IndexOf((byte)'\n'))
            {
                _scanned += i + 1;
                _line++;
                _lineStart = _scanned;
            }

            _scanned = to;
            return new Mark(to, _line, to - _lineStart + 1);
        }
    }
}
