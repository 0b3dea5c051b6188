using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Gateway.Composition;

/// <summary>
/// Reads a backend's JSON body within the composition's limits: never more than <c>maxBodySize</c> bytes buffered
/// (counted while reading, whatever Content-Length says), nesting at most <c>maxDepth</c>, arrays of at most
/// <c>maxItems</c>. The tree is fully materialized, so steps running concurrently can read it without locks.
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

                JsonNode? node;
                try
                {
                    node = JsonNode.Parse(buffer.AsSpan(0, length), documentOptions: new JsonDocumentOptions { MaxDepth = maxDepth });
                }
                catch (JsonException e)
                {
                    var deep = e.Message.Contains("depth", StringComparison.OrdinalIgnoreCase);
                    throw new StepFailure(502, deep ? "composition-body-too-deep" : "composition-body-not-json",
                        deep ? $"Step '{step}': the backend's JSON nests deeper than the limit of {maxDepth} (maxDepth)."
                             : $"Step '{step}': the backend's body is not JSON.");
                }

                Check(node, step, maxItems);
                return node;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Checks array sizes and materializes every object and array (depth is bounded by the parser's MaxDepth).</summary>
    private static void Check(JsonNode? node, string step, int maxItems)
    {
        switch (node)
        {
            case JsonArray a:
                if (a.Count > maxItems)
                {
                    throw new StepFailure(502, "composition-too-many-items", $"Step '{step}': the backend's JSON has an array of {a.Count} elements, over the limit of {maxItems} (maxItems).");
                }

                foreach (var item in a)
                {
                    Check(item, step, maxItems);
                }

                break;
            case JsonObject o:
                foreach (var (_, value) in o)
                {
                    Check(value, step, maxItems);
                }

                break;
        }
    }

    private static StepFailure TooLarge(string step, long maxBytes) =>
        new(502, "composition-body-too-large", $"Step '{step}': the backend's body is larger than the limit of {maxBytes} bytes (maxBodySize).");
}
