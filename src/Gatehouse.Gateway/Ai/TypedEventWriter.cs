using System.Buffers;
using System.Text.Json;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Writes the typed server-sent events of Anthropic's and the Responses API's streams, each around its object's own
/// properties: <c>event: TYPE\ndata: {"type":TYPE,…}\n\n</c>, with one JSON writer reused for every event of a call.
/// </summary>
internal sealed class TypedEventWriter
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private Utf8JsonWriter? _json;

    /// <summary>Starts an event: its line and its object, with <c>type</c> written; the caller writes the rest.</summary>
    public Utf8JsonWriter Start(IBufferWriter<byte> writer, string type)
    {
        writer.Write("event: "u8);
        writer.Advance(System.Text.Encoding.ASCII.GetBytes(type, writer.GetSpan(type.Length)));
        writer.Write("\ndata: "u8);
        if (_json is null)
        {
            _json = new Utf8JsonWriter(writer, WriterOptions);
        }
        else
        {
            _json.Reset(writer);
        }

        _json.WriteStartObject();
        _json.WriteString("type", type);
        return _json;
    }

    /// <summary>Ends the event started last.</summary>
    public void End(IBufferWriter<byte> writer)
    {
        _json!.WriteEndObject();
        _json.Flush();
        writer.Write("\n\n"u8);
    }
}
