using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using static Gatehouse.Gateway.Ai.JsonNodes;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// OpenAI's Conversations API, kept by the gateway with the responses (<c>ai.responses</c>; docs/ai.md, "Conversations"):
/// a conversation is a list of items an application adds to itself or that its Responses calls add (their input and
/// output), and a call naming it in <c>conversation</c> is sent to the provider with every item before its own input.
/// As with <c>previous_response_id</c>, providers are still called statelessly, so any provider can go on with it.
/// </summary>
internal static class AiConversations
{
    /// <summary>The most items one request may add, as OpenAI's API allows.</summary>
    public const int MaxAdded = 20;

    /// <summary>The most items a conversation holds: adding beyond it is refused (a call's history is sent whole every time).</summary>
    public const int MaxItems = 10_000;

    // OpenAI's bounds on metadata: 16 pairs, keys of 64 characters, values of 512.
    private const int MaxMetadata = 16;

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A fresh conversation id: <c>conv_</c> and 32 random hex digits.</summary>
    public static string NewId() => "conv_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>A fresh item id with the prefix OpenAI gives items of its type.</summary>
    public static string NewItemId(string? type) =>
        (type switch
        {
            "message" or null => "msg_",
            "function_call" => "fc_",
            "function_call_output" => "fco_",
            "reasoning" => "rs_",
            _ => "item_",
        }) + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// The items a request adds (<c>items</c> of <c>POST …/conversations</c> and <c>…/items</c>), kept as the client sent
    /// them; each keeps its own <c>id</c> (a string of at most 128 characters) or is given one. Returns why they are
    /// refused, or null.
    /// </summary>
    public static string? ReadItems(JsonNode? node, bool required, out ConversationItem[] items)
    {
        items = [];
        if (node is null)
        {
            return required ? "'items' is required: a list of 1 to 20 items." : null;
        }

        if (node is not JsonArray array || array.Count > MaxAdded || (required && array.Count == 0))
        {
            return $"'items' must be a list of {(required ? 1 : 0)} to {MaxAdded} items.";
        }

        var read = new ConversationItem[array.Count];
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonObject item || (Str(item["type"]) is null && Str(item["role"]) is null))
            {
                return $"'items[{i}]' must be an object with a 'type' (or a 'role', for a message).";
            }

            if (item["id"] is { } given && (Str(given) is not { Length: > 0 and <= AiResponses.MaxIdLength }))
            {
                return $"'items[{i}].id' must be a string of 1 to {AiResponses.MaxIdLength} characters, or left out.";
            }

            if (ProviderState.FindReference(item) is { } reference)
            {
                // Sent to the provider by every later call in the conversation: the same rule as for a call's own input.
                return $"'{reference}' in 'items[{i}]' refers to something kept at the provider, under an account every application shares; "
                    + "send it inline instead (file_data, image_url, or the item itself).";
            }

            read[i] = Input(item);
        }

        items = read;
        return null;
    }

    /// <summary>An item of the input side (the client's), kept as it was sent.</summary>
    public static ConversationItem Input(JsonNode item) =>
        new(Str(item["id"]) is { Length: > 0 and <= AiResponses.MaxIdLength } id ? id : NewItemId(Str(item["type"])), false, JsonSerializer.SerializeToUtf8Bytes(item, Relaxed));

    /// <summary>
    /// The output items of a finished response (<paramref name="response"/>, the response object as the client got it),
    /// kept with the ids the client saw; none when it did not finish (completed or incomplete).
    /// </summary>
    public static IEnumerable<ConversationItem> Output(ReadOnlySpan<byte> response)
    {
        JsonObject? answer;
        try
        {
            answer = JsonNode.Parse(response, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }) as JsonObject;
        }
        catch (JsonException)
        {
            return [];
        }

        if (Str(answer?["status"]) is not ("completed" or "incomplete") || answer!["output"] is not JsonArray output)
        {
            return [];
        }

        return [.. output.OfType<JsonObject>().Select(item => new ConversationItem(
            Str(item["id"]) is { Length: > 0 and <= AiResponses.MaxIdLength } id ? id : NewItemId(Str(item["type"])), true, JsonSerializer.SerializeToUtf8Bytes(item, Relaxed)))];
    }

    /// <summary>
    /// What <paramref name="metadata"/> holds when it fits OpenAI's bounds (at most 16 pairs; keys of up to 64 characters;
    /// values strings of up to 512), as JSON; else why not.
    /// </summary>
    public static string? ReadMetadata(JsonNode? metadata, out byte[] json)
    {
        json = "{}"u8.ToArray();
        if (metadata is null || (metadata is JsonValue v && v.GetValueKind() == JsonValueKind.Null))
        {
            return null;
        }

        if (metadata is not JsonObject pairs || pairs.Count > MaxMetadata)
        {
            return $"'metadata' must be an object of at most {MaxMetadata} pairs.";
        }

        foreach (var (key, value) in pairs)
        {
            if (key.Length > 64 || Str(value) is not { Length: <= 512 })
            {
                return $"'metadata.{key}': keys are at most 64 characters, and values strings of at most 512.";
            }
        }

        json = JsonSerializer.SerializeToUtf8Bytes(pairs, Relaxed);
        return null;
    }

    /// <summary>
    /// The conversation as a provider is sent it, oldest first: the client's items as they were sent, and each response's
    /// output as a later call sends it back (assistant text as a message, function calls by <c>call_id</c>, reasoning
    /// only with its <c>encrypted_content</c>; items of a provider's hosted tools are left out).
    /// </summary>
    public static IEnumerable<JsonNode> Replay(ConversationView conversation)
    {
        foreach (var item in conversation.Items)
        {
            if (JsonNode.Parse(item.Json) is not { } node)
            {
                continue;
            }

            if (!item.Output)
            {
                yield return node;
            }
            else if (AiResponses.Replayable(node) is { } replay)
            {
                yield return replay;
            }
        }
    }

    /// <summary>The conversation object: <c>{"id","object":"conversation","created_at","metadata"}</c>.</summary>
    public static byte[] Object(ConversationView conversation)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(128 + conversation.Metadata.Length);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", conversation.Id);
            json.WriteString("object", "conversation");
            json.WriteNumber("created_at", conversation.CreatedAt);
            json.WritePropertyName("metadata");
            json.WriteRawValue(conversation.Metadata, skipInputValidation: true);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An item as it is listed: with its id, and a message in OpenAI's form (its type, its text as content parts).</summary>
    public static JsonNode Listed(ConversationItem item)
    {
        var node = JsonNode.Parse(item.Json)!;
        if (node is JsonObject o)
        {
            o.Remove("id");
            o.Insert(0, "id", item.Id);
            AiResponses.ListAsMessage(o);
        }

        return node;
    }

    /// <summary>
    /// A page of <c>GET …/conversations/{id}/items</c> (or of the items just added, <paramref name="query"/> null): OpenAI's
    /// list (<c>{"object":"list","data","first_id","last_id","has_more"}</c>), <c>order</c> desc by default, <c>limit</c>
    /// 1–100 (20), <c>after</c> an item id. Returns why the query is refused, or null with the page.
    /// </summary>
    public static string? Page(IReadOnlyList<ConversationItem> items, Microsoft.AspNetCore.Http.IQueryCollection? query, out byte[] page)
    {
        page = [];
        var limit = query is null ? MaxAdded : 20;
        if (query?["limit"] is { Count: > 0 } limitText && (!int.TryParse(limitText.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 100))
        {
            return "'limit' must be a whole number from 1 to 100.";
        }

        var order = query is null ? "asc" : query["order"].ToString();
        if (order is not ("" or "asc" or "desc"))
        {
            return "'order' must be asc or desc.";
        }

        var ordered = order == "asc" ? items : [.. items.Reverse()];
        var start = 0;
        if (query?["after"] is { Count: > 0 } after)
        {
            start = IndexOf(ordered, after.ToString()) + 1;
            if (start == 0)
            {
                return $"'after' names no item of this conversation: '{after}'.";
            }
        }

        var data = new JsonArray();
        foreach (var item in ordered.Skip(start).Take(limit))
        {
            data.Add(Listed(item));
        }

        page = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["first_id"] = data.Count == 0 ? null : Str(data[0]!["id"]),
            ["last_id"] = data.Count == 0 ? null : Str(data[^1]!["id"]),
            ["has_more"] = start + data.Count < ordered.Count,
        }, Relaxed);
        return null;
    }

    /// <summary>
    /// <paramref name="adding"/> with ids that are unique in the conversation: an item whose id is already there, or earlier
    /// in the same list, is given a new one with the same prefix (providers that answer every call with the same item id
    /// would otherwise make an item that cannot be read or deleted by its id).
    /// </summary>
    public static ConversationItem[] Unique(IEnumerable<string> existing, IReadOnlyList<ConversationItem> adding)
    {
        var ids = new HashSet<string>(existing, StringComparer.Ordinal);
        var unique = new ConversationItem[adding.Count];
        for (var i = 0; i < adding.Count; i++)
        {
            var item = adding[i];
            if (!ids.Add(item.Id))
            {
                var cut = item.Id.IndexOf('_', StringComparison.Ordinal);
                item = item with { Id = (cut is > 0 and < 16 ? item.Id[..(cut + 1)] : "item_") + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) };
                ids.Add(item.Id);
            }

            unique[i] = item;
        }

        return unique;
    }

    /// <summary>The place of the item with <paramref name="id"/>, or -1.</summary>
    public static int IndexOf(IReadOnlyList<ConversationItem> items, string id)
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Id == id)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>One item of a conversation: its id, whether a response made it (output) or a client sent it, and its JSON.</summary>
internal sealed record ConversationItem(string Id, bool Output, byte[] Json)
{
    public long Bytes => Json.Length + (Id.Length * 2) + 48;
}

/// <summary>A conversation as it was when read: its items are not changed afterwards.</summary>
internal sealed record ConversationView(string Id, long CreatedAt, byte[] Metadata, ConversationItem[] Items);

/// <summary>A conversation kept in a node's memory (<see cref="AiResponses.Kept"/>); changed only under the store's lock.</summary>
internal sealed class Conversation : AiResponses.Record
{
    private long _itemBytes;

    public Conversation(string id, string application, long createdAt, byte[] metadata, IEnumerable<ConversationItem> items)
        : base(id, application)
    {
        (CreatedAt, Metadata) = (createdAt, metadata);
        Items = [];
        Add(AiConversations.Unique([], [.. items]));
    }

    public long CreatedAt { get; }

    public byte[] Metadata { get; set; }

    public List<ConversationItem> Items { get; }

    public override long Bytes => _itemBytes + Metadata.Length + (Id.Length * 2) + 160;

    public void Add(IEnumerable<ConversationItem> items)
    {
        foreach (var item in items)
        {
            Items.Add(item);
            _itemBytes += item.Bytes;
        }
    }

    public void RemoveAt(int index)
    {
        _itemBytes -= Items[index].Bytes;
        Items.RemoveAt(index);
    }

    public ConversationView View() => new(Id, CreatedAt, Metadata, [.. Items]);
}
