using System.Buffers;
using System.Text.Json;

namespace Gatehouse.Gateway.Composition;

/// <summary>
/// A backend's body parsed once into a pooled <see cref="JsonDocument"/> over the bytes read, read by the composition's
/// templates as borrowed elements. Disposing it returns the document's metadata and the buffer to their pools:
/// every <see cref="JsonElement"/> borrowed from it is invalid after.
/// </summary>
internal sealed class JsonDocumentBody(JsonDocument document, byte[]? rented) : IDisposable
{
    private byte[]? _rented = rented;

    public JsonDocument Document { get; } = document;

    public JsonElement Root => Document.RootElement;

    public void Dispose()
    {
        Document.Dispose();
        if (Interlocked.Exchange(ref _rented, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>
/// Reads a backend's JSON body within the composition's limits: never more than <c>maxBodySize</c> bytes buffered
/// (counted while reading, whatever Content-Length says), nesting at most <c>maxDepth</c>, arrays of at most
/// <c>maxItems</c>, and a repeated name read as compositions have always read it (the last value, where the name
/// first stood). A <see cref="JsonDocument"/> is not safe to read from two threads at once: see
/// <see cref="CompositionRun"/>.
/// </summary>
internal static class JsonDocumentBodyReader
{
    /// <remarks>
    /// A ValueTask, and the stream taken without a task: a small body has mostly arrived with the headers, and then
    /// nothing here waits, so nothing is allocated for the waiting.
    /// </remarks>
    public static async ValueTask<JsonDocumentBody?> ReadAsync(HttpContent content, string step, long maxBytes, int maxDepth, int maxItems, CancellationToken ct)
    {
        if (content.Headers.ContentLength > maxBytes)
        {
            throw TooLarge(step, maxBytes);
        }

        // A response's content stream is there once its headers are read (HttpClient's response content makes it
        // without waiting), so the synchronous call does not block.
        var stream = content.ReadAsStream(ct);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(maxBytes + 1, 16 * 1024));
            var length = 0;
            try
            {
                while (true)
                {
                    if (length == buffer.Length)
                    {
                        if (length > maxBytes)
                        {
                            throw TooLarge(step, maxBytes);
                        }

                        var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(maxBytes + 1, (long)buffer.Length * 2));
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    var read = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    length += read;
                    if (length > maxBytes)
                    {
                        throw TooLarge(step, maxBytes);
                    }
                }
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }

            return Parse(buffer, length, step, maxDepth, maxItems);
        }
    }

    /// <summary>Parses <paramref name="length"/> bytes of a rented <paramref name="buffer"/>, which the result (or this, on failure) returns.</summary>
    public static JsonDocumentBody? Parse(byte[] buffer, int length, string step, int maxDepth, int maxItems)
    {
        var owned = false;
        try
        {
            if (length == 0)
            {
                return null;
            }

            var memory = buffer.AsMemory(0, length);
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(memory, new JsonDocumentOptions { MaxDepth = maxDepth, AllowDuplicateProperties = false });
            }
            catch (JsonException)
            {
                // Too deep, not JSON, or a repeated name: the scan says which, in document order.
                Scan(memory.Span, step, maxDepth, maxItems);
                return Canonical(memory, maxDepth);
            }

            // An array of n items takes at least 2n+1 bytes ("[1,2]"), so a body shorter than 2·maxItems+3 bytes has none
            // over the limit and needs no walk; most bodies are that small.
            if (length >= 2L * maxItems + 3 && !Fits(document.RootElement, maxItems))
            {
                document.Dispose();
                Scan(memory.Span, step, maxDepth, maxItems);
                throw new InvalidOperationException("unreachable: the scan finds the array the walk did");
            }

            owned = true;
            return new JsonDocumentBody(document, buffer);
        }
        finally
        {
            if (!owned)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Whether every array fits <paramref name="maxItems"/> (the document's arrays know their length).</summary>
    private static bool Fits(JsonElement element, int maxItems)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Array:
                if (element.GetArrayLength() > maxItems)
                {
                    return false;
                }

                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind is JsonValueKind.Array or JsonValueKind.Object && !Fits(item, maxItems))
                    {
                        return false;
                    }
                }

                return true;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Value.ValueKind is JsonValueKind.Array or JsonValueKind.Object && !Fits(property.Value, maxItems))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return true;
        }
    }

    /// <summary>
    /// Reads the body token by token and throws the failure the gateway has always given for it (the first in document
    /// order): a container nested too deep when it opens, an array too long when it closes, anything else not JSON. Returns when the body is
    /// JSON within the limits (its only fault, then, is a repeated name). Only on the error path.
    /// </summary>
    private static void Scan(ReadOnlySpan<byte> json, string step, int maxDepth, int maxItems)
    {
        var counts = new int[maxDepth + 1];
        var arrays = new bool[maxDepth + 1];
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = maxDepth + 1 });
            if (!reader.Read())
            {
                throw new JsonException("no value");
            }

            do
            {
                var depth = reader.CurrentDepth;
                if (reader.TokenType is not (JsonTokenType.PropertyName or JsonTokenType.EndObject or JsonTokenType.EndArray) && depth > 0 && arrays[depth - 1])
                {
                    counts[depth - 1]++;
                }

                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        if (depth >= maxDepth)
                        {
                            throw new StepFailure(502, "composition-body-too-deep", $"Step '{step}': the backend's JSON nests deeper than the limit of {maxDepth} (maxDepth).");
                        }

                        (arrays[depth], counts[depth]) = (reader.TokenType == JsonTokenType.StartArray, 0);
                        break;
                    case JsonTokenType.EndArray when counts[depth] > maxItems:
                        throw new StepFailure(502, "composition-too-many-items", $"Step '{step}': the backend's JSON has an array of {counts[depth]} elements, over the limit of {maxItems} (maxItems).");
                }
            }
            while (reader.Read());
        }
        catch (JsonException)
        {
            throw new StepFailure(502, "composition-body-not-json", $"Step '{step}': the backend's body is not JSON.");
        }
    }

    /// <summary>A body with a repeated name, rewritten without: each name where it first stood, with its last value.</summary>
    private static JsonDocumentBody Canonical(ReadOnlyMemory<byte> json, int maxDepth)
    {
        using var original = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = maxDepth });
        var output = new ArrayBufferWriter<byte>(json.Length);
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true }))
        {
            WriteWithoutRepeats(original.RootElement, writer);
        }

        return new JsonDocumentBody(JsonDocument.Parse(output.WrittenMemory, new JsonDocumentOptions { MaxDepth = maxDepth }), null);
    }

    private static void WriteWithoutRepeats(JsonElement element, Utf8JsonWriter writer)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                // Each name where it first stood, with its last value; by name, so linear however many properties.
                var fields = new OrderedDictionary<string, JsonElement>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    fields[property.Name] = property.Value;
                }

                writer.WriteStartObject();
                foreach (var (name, value) in fields)
                {
                    writer.WritePropertyName(name);
                    WriteWithoutRepeats(value, writer);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteWithoutRepeats(item, writer);
                }

                writer.WriteEndArray();
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    private static StepFailure TooLarge(string step, long maxBytes) =>
        new(502, "composition-body-too-large", $"Step '{step}': the backend's body is larger than the limit of {maxBytes} bytes (maxBodySize).");
}
