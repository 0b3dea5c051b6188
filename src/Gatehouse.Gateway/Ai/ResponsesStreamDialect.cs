using System.Buffers;
using System.Text.Json;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// A stream of OpenAI's Responses API: each event passed to the client byte for byte. Usage is read from the final
/// event (<c>response.completed</c>, <c>response.incomplete</c> or <c>response.failed</c>, which end the stream; there is
/// no <c>[DONE]</c>), and the text of every <c>*.delta</c> event is kept for an estimate should the stream be cut first.
/// </summary>
internal sealed class ResponsesStreamDialect : StreamDialect
{
    public static readonly ResponsesStreamDialect Instance = new();

    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    public override bool FailsBeforeStart(ReadOnlySpan<byte> eventBytes) =>
        TryRead(SseReader.Data(eventBytes), null, out var type, out _, out _) && type == EventType.Error;

    public override StreamStep Step(AiCall call, ReadOnlySpan<byte> eventBytes, IBufferWriter<byte> writer, out bool wrote, out string? error)
    {
        error = null;
        var data = SseReader.Data(eventBytes);
        var type = EventType.Other;
        AiUsage? usage = null;
        var hasResponse = false;
        if (!data.IsEmpty && !TryRead(data, call.CompletionText, out type, out usage, out hasResponse))
        {
            wrote = false;
            return StreamStep.Malformed;
        }

        if (usage is { } seen)
        {
            call.Usage = seen;
        }

        if (call.KeepId is { } keepId && hasResponse && AiResponses.StampEvent(data, keepId, call.KeepConversation, out var response, out var output) is { } stamped)
        {
            // Kept by the gateway: the few events that carry the response object carry the gateway's id instead of the
            // provider's (which names nothing the client could use), and the final one is what is kept.
            writer.Write(stamped);
            writer.Write(EventEnd);
            if (type == EventType.Final)
            {
                (call.Final, call.FinalOutput) = (response, output);
            }
        }
        else
        {
            writer.Write(eventBytes);
            writer.Write(EventEnd);
        }

        wrote = true;
        return type is EventType.Final or EventType.Error ? StreamStep.Done : StreamStep.Continue;
    }

    /// <summary>The Responses API's own error event, so that its clients read why the stream ended.</summary>
    public override void WriteError(IBufferWriter<byte> writer, string message)
    {
        using var json = new Utf8JsonWriter(writer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        writer.Write("event: error\ndata: "u8);
        json.WriteStartObject();
        json.WriteString("type", "error");
        json.WriteString("code", "stream_interrupted");
        json.WriteString("message", message);
        json.WriteNull("param");
        json.WriteEndObject();
        json.Flush();
        writer.Write(EventEnd);
    }

    // Reads the event's top-level "type" and "delta", and "response.usage" of a final event. False when it is not JSON.
    private static bool TryRead(ReadOnlySpan<byte> data, System.Text.StringBuilder? text, out EventType type, out AiUsage? usage, out bool hasResponse)
    {
        type = EventType.Other;
        usage = null;
        hasResponse = false;
        if (data.IsEmpty)
        {
            return false;
        }

        var reader = new Utf8JsonReader(data, new JsonReaderOptions { MaxDepth = 64 });
        string? delta = null;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    type = reader.TokenType != JsonTokenType.String ? EventType.Other
                        : reader.ValueTextEquals("response.completed"u8) || reader.ValueTextEquals("response.incomplete"u8) || reader.ValueTextEquals("response.failed"u8) ? EventType.Final
                        : reader.ValueTextEquals("error"u8) ? EventType.Error
                        : reader.ValueSpan.EndsWith(".delta"u8) ? EventType.Delta
                        : EventType.Other;
                    reader.Skip();
                }
                else if (text is not null && reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    delta = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("response"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        hasResponse = true;
                        usage = ReadUsage(ref reader) ?? usage;
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return false;
            }
        }
        catch (JsonException)
        {
            return false;
        }

        if (type == EventType.Delta && delta is not null)
        {
            text!.Append(delta);
        }

        return true;
    }

    // The "usage" of the response object the reader is at the start of; the reader ends at the object's end.
    private static AiUsage? ReadUsage(ref Utf8JsonReader reader)
    {
        AiUsage? usage = null;
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1 && reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    usage = AiJson.ReadUsage(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.TokenType == JsonTokenType.PropertyName)
            {
                reader.Read();
                reader.Skip();
            }
        }

        return usage;
    }

    private enum EventType
    {
        Other,
        Delta,
        Final,
        Error,
    }
}
