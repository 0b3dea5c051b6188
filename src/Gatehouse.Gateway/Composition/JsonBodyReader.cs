using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Gateway.Composition;

/// <summary>
/// Reads a backend's JSON body within the composition's limits: never more than <c>maxBodySize</c> bytes buffered
/// (counted while reading, whatever Content-Length says), nesting at most <c>maxDepth</c>, arrays of at most
/// <c>maxItems</c>. The tree is built whole, of plain values, so steps running concurrently can read it without locks.
/// </summary>
internal static class JsonBodyReader
{
    public static async Task<JsonNode?> ReadAsync(HttpContent content, string step, long maxBytes, int maxDepth, int maxItems, CancellationToken ct)
    {
        if (content.Headers.ContentLength > maxBytes)
        {
            throw TooLarge(step, maxBytes);
        }

        var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
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

                if (length == 0)
                {
                    return null;
                }

                try
                {
                    // One level more than the limit, so that Build, not the reader, finds a value nested too deep: the
                    // reader's own message for that names "depth" like the one for a truncated document does.
                    var reader = new Utf8JsonReader(buffer.AsSpan(0, length), new JsonReaderOptions { MaxDepth = maxDepth + 1 });
                    reader.Read();
                    var node = Build(ref reader, step, maxDepth, maxItems);
                    if (reader.Read())
                    {
                        // Content after the value (the reader throws for anything but whitespace).
                        throw new JsonException("trailing content");
                    }

                    return node;
                }
                catch (JsonException)
                {
                    throw new StepFailure(502, "composition-body-not-json", $"Step '{step}': the backend's body is not JSON.");
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>
    /// Builds the tree of the value the reader is on, checking array sizes (and depth; the reader's MaxDepth also bounds
    /// the recursion). Built in one pass rather than with <see cref="JsonNode.Parse(ReadOnlySpan{byte}, JsonNodeOptions?, JsonDocumentOptions)"/>:
    /// that tree's values stay backed by a <see cref="JsonDocument"/>, and each copy the response template makes of
    /// one (<see cref="JsonNode.DeepClone"/>) clones a document. Here strings, booleans and the numbers a long or a
    /// decimal writes back byte for byte are plain values; other numbers keep their exact text in an element.
    /// </summary>
    private static JsonNode? Build(ref Utf8JsonReader reader, string step, int maxDepth, int maxItems)
    {
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= maxDepth)
        {
            throw new StepFailure(502, "composition-body-too-deep", $"Step '{step}': the backend's JSON nests deeper than the limit of {maxDepth} (maxDepth).");
        }

        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var o = new JsonObject();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = PropertyName(ref reader);
                    reader.Read();
                    // A repeated name: the last value wins.
                    o[name] = Build(ref reader, step, maxDepth, maxItems);
                }

                return o;
            case JsonTokenType.StartArray:
                var a = new JsonArray();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    a.Add(Build(ref reader, step, maxDepth, maxItems));
                }

                if (a.Count > maxItems)
                {
                    throw new StepFailure(502, "composition-too-many-items", $"Step '{step}': the backend's JSON has an array of {a.Count} elements, over the limit of {maxItems} (maxItems).");
                }

                return a;
            case JsonTokenType.String:
                return JsonValue.Create(reader.GetString()!);
            case JsonTokenType.Number:
                return Number(ref reader);
            case JsonTokenType.True:
                return JsonValue.Create(true);
            case JsonTokenType.False:
                return JsonValue.Create(false);
            default:
                return null;
        }
    }

    private static JsonValue Number(ref Utf8JsonReader reader)
    {
        Span<byte> written = stackalloc byte[64];
        // Integers (ids, quantities) as longs: cheaper to read, to key on and to write than decimals.
        if (reader.TryGetInt64(out var l) && Utf8Formatter.TryFormat(l, written, out var n) && written[..n].SequenceEqual(reader.ValueSpan))
        {
            return JsonValue.Create(l);
        }

        if (reader.TryGetDecimal(out var d) && Utf8Formatter.TryFormat(d, written, out var count) && written[..count].SequenceEqual(reader.ValueSpan))
        {
            return JsonValue.Create(d);
        }

        return JsonValue.Create(JsonElement.ParseValue(ref reader))!;
    }

    /// <summary>
    /// A property name, shared across bodies: backends repeat the same few names in every answer, so each thread keeps
    /// the strings it has seen (up to a bound) instead of allocating each one per body.
    /// </summary>
    private static string PropertyName(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length > MaxCachedNameBytes)
        {
            return reader.GetString()!;
        }

        Span<char> chars = stackalloc char[MaxCachedNameBytes];
        if (System.Text.Unicode.Utf8.ToUtf16(reader.ValueSpan, chars, out _, out var written, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            return reader.GetString()!;
        }

        var names = t_names ??= new Dictionary<string, string>(StringComparer.Ordinal);
        var lookup = names.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(chars[..written], out var name))
        {
            return name;
        }

        name = new string(chars[..written]);
        if (names.Count < MaxCachedNames)
        {
            names.Add(name, name);
        }

        return name;
    }

    private const int MaxCachedNameBytes = 64;
    private const int MaxCachedNames = 512;

    [ThreadStatic]
    private static Dictionary<string, string>? t_names;

    private static StepFailure TooLarge(string step, long maxBytes) =>
        new(502, "composition-body-too-large", $"Step '{step}': the backend's body is larger than the limit of {maxBytes} bytes (maxBodySize).");
}
