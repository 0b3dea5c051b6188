using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Model.Config;
using static Gatehouse.Gateway.Ai.JsonNodes;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// The Responses API's state, kept by the gateway when an <c>ai</c> service has <c>responses</c> (docs/ai.md, "Responses
/// kept by the gateway"): each response made with an application's credentials, under an id the gateway drew, holding
/// the input it was given and the output it made. A later call naming it in <c>previous_response_id</c> is sent to the
/// provider with that conversation in its <c>input</c>, so providers are still called statelessly (their account is
/// shared by every application) and any provider can continue any conversation, translated ones included.
/// </summary>
/// <remarks>
/// Kept in this node's memory (<see cref="Kept"/>), one least-recently-used list per service, bounded by
/// <see cref="AiResponsesConfig.Size"/>, or in Redis for every node (<see cref="RedisResponses"/>); a response is kept
/// <see cref="AiResponsesConfig.Ttl"/> after it was made or last continued. The memory store is written here rather
/// than with <c>Microsoft.Extensions.Caching.Memory</c>: a conversation is a chain of entries that is continued as a
/// whole, so continuing one must make every entry of its chain recent again under one lock, and the cache's own
/// compaction (by a percentage, on a background scan) does not keep a byte bound exactly.
/// </remarks>
internal sealed class AiResponses : IDisposable
{
    private readonly TimeProvider _time;
    private readonly Microsoft.Extensions.Logging.ILoggerFactory _loggers;

    /// <summary>The most responses a conversation holds: continuing a longer one is refused (as not found, saying so).</summary>
    public const int MaxChain = 1_000;

    /// <summary>The longest id looked up: the gateway's are 37 characters; a longer one names nothing kept.</summary>
    public const int MaxIdLength = 128;

    // What the gateway writes for clients keeps their text as it is (no \uXXXX for every non-ASCII character).
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // The gauges read every gateway of the process (tests run several); one leaves them when its host stops.
    private static readonly ConcurrentDictionary<AiResponses, byte> Live = new();

    private readonly ConcurrentDictionary<string, ResponseStore> _services = new(StringComparer.Ordinal);

    static AiResponses()
    {
        AiMetrics.Meter.CreateObservableGauge("gatehouse.ai.responses.kept", () => Measure(kept => kept.Count), "{response}",
            "Responses of the Responses API kept in this node's memory (ai.responses), by service");
        AiMetrics.Meter.CreateObservableGauge("gatehouse.ai.responses.kept.size", () => Measure(kept => kept.Bytes), "By",
            "What the responses and conversations kept in this node's memory hold (ai.responses.size bounds it), by service");
        AiMetrics.Meter.CreateObservableGauge("gatehouse.ai.conversations.kept", () => Measure(kept => kept.Conversations), "{conversation}",
            "Conversations of the Conversations API kept in this node's memory (ai.responses), by service");
    }

    public AiResponses(TimeProvider time, Microsoft.Extensions.Logging.ILoggerFactory loggers)
    {
        (_time, _loggers) = (time, loggers);
        Live[this] = 0;
    }

    /// <summary>A fresh id for a response to keep: <c>resp_</c> and 32 random hex digits, never derived from the request.</summary>
    public static string NewId() => "resp_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// Where the responses of one service are kept: this node's memory, or the Redis of <see cref="AiResponsesConfig.Redis"/>
    /// (one connection per service and address, kept while the process runs).
    /// </summary>
    public ResponseStore For(string service, AiResponsesConfig config) =>
        config.Redis is { } redis
            ? _services.GetOrAdd(service + "\nredis\n" + redis, static (_, state) => new RedisResponses(state.redis, state.service, state._loggers), (redis, service, _loggers))
            : _services.GetOrAdd(service, static (_, t) => new Kept(t), _time);

    /// <summary>
    /// Forgets every response and conversation kept for <paramref name="applications"/>, which left the config or the
    /// consumer directory: their users' words are not kept for no one, and an application made again under the same id
    /// does not find them. Runs off the caller's path; a store that does not answer keeps them until their ttl.
    /// </summary>
    public void Forget(IReadOnlyList<string> applications)
    {
        if (_services.IsEmpty || applications.Count == 0)
        {
            return;
        }

        var stores = _services.Values.ToArray();
        _ = Task.Run(async () =>
        {
            foreach (var store in stores)
            {
                try
                {
                    await store.ForgetAsync(applications).ConfigureAwait(false);
                }
                catch (Exception e) when (e is ResponseStoreUnavailableException or StackExchange.Redis.RedisException or TimeoutException or ObjectDisposedException)
                {
                    // Kept until their ttl: Redis did not answer, or the gateway is stopping.
                }
            }
        });
    }

    public void Dispose()
    {
        Live.TryRemove(this, out _);
        foreach (var store in _services.Values)
        {
            (store as IDisposable)?.Dispose();
        }
    }

    private static IEnumerable<System.Diagnostics.Metrics.Measurement<long>> Measure(Func<Kept, long> read)
    {
        foreach (var responses in Live.Keys)
        {
            foreach (var (service, store) in responses._services)
            {
                if (store is Kept kept)
                {
                    yield return new(read(kept), new KeyValuePair<string, object?>("service", service));
                }
            }
        }
    }

    /// <summary>
    /// Turns <paramref name="body"/>'s <c>previous_response_id</c> (<paramref name="previous"/>) into the conversation it
    /// names: the input and output of every response of its chain, oldest first, then the call's own input. Returns the
    /// chain's ids, oldest first, for the response this call makes; null when it names nothing
    /// <paramref name="application"/> may continue (an unknown, expired, deleted or other application's id, or a chain
    /// missing an earlier response). Throws <see cref="ResponseStoreUnavailableException"/> when the store does not answer.
    /// </summary>
    public static async ValueTask<string[]?> ContinueAsync(ResponseStore store, string application, string previous, JsonObject body, AiResponsesConfig config)
    {
        if (previous.Length > MaxIdLength || await store.ChainAsync(application, previous, config.Ttl).ConfigureAwait(false) is not { } chain || chain.Count >= MaxChain)
        {
            return null;
        }

        var input = new JsonArray();
        foreach (var entry in chain)
        {
            AddItems(input, entry.Input);
            AddItems(input, entry.Output);
        }

        foreach (var item in OwnInput(body))
        {
            input.Add(item);
        }

        body["input"] = input;
        body.Remove("previous_response_id");
        return [.. chain.Select(e => e.Id)];
    }

    /// <summary>
    /// A page of <c>GET …/responses/{id}/input_items</c>: the input the provider was given for the last response of
    /// <paramref name="chain"/> (the earlier responses' input and output, then its own input), as OpenAI lists it
    /// (<c>{"object":"list","data","first_id","last_id","has_more"}</c>, <c>order</c> desc by default, <c>limit</c> 1–100
    /// (20), <c>after</c> an item id). An item without an id of its own is given <c>item_N</c>, N its place in the input.
    /// Returns why the query is refused, or null with the page.
    /// </summary>
    public static string? InputItemsPage(List<Entry> chain, Microsoft.AspNetCore.Http.IQueryCollection query, out byte[] page)
    {
        page = [];
        var limit = 20;
        if (query["limit"] is { Count: > 0 } limitText && (!int.TryParse(limitText.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 100))
        {
            return "'limit' must be a whole number from 1 to 100.";
        }

        var order = query["order"].ToString();
        if (order is not ("" or "asc" or "desc"))
        {
            return "'order' must be asc or desc.";
        }

        var items = new JsonArray();
        for (var i = 0; i < chain.Count; i++)
        {
            AddItems(items, chain[i].Input);
            if (i < chain.Count - 1)
            {
                AddItems(items, chain[i].Output);
            }
        }

        var listed = new List<(string Id, JsonNode Item)>(items.Count);
        foreach (var item in items.ToArray())
        {
            items.Remove(item);
            var id = Str(item?["id"]) ?? "item_" + listed.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (item is JsonObject o)
            {
                ListAsMessage(o);
                if (o["id"] is null)
                {
                    o.Insert(0, "id", id);
                }
            }

            listed.Add((id, item!));
        }

        if (order != "asc")
        {
            listed.Reverse();
        }

        var start = 0;
        if (query["after"] is { Count: > 0 } after)
        {
            start = listed.FindIndex(l => l.Id == after.ToString()) + 1;
            if (start == 0)
            {
                return $"'after' names no input item of this response: '{after}'.";
            }
        }

        var data = new JsonArray();
        foreach (var (_, item) in listed.Skip(start).Take(limit))
        {
            data.Add(item);
        }

        var list = new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["first_id"] = data.Count == 0 ? null : Str(data[0]!["id"]),
            ["last_id"] = data.Count == 0 ? null : Str(data[^1]!["id"]),
            ["has_more"] = start + data.Count < listed.Count,
        };
        page = JsonSerializer.SerializeToUtf8Bytes(list, Relaxed);
        return null;
    }

    /// <summary>
    /// An input item as OpenAI lists it: the short form of a message (a <c>role</c> without a <c>type</c>) with its type,
    /// and a message's text as a content part.
    /// </summary>
    public static void ListAsMessage(JsonObject o)
    {
        if (o["type"] is null && o["role"] is not null)
        {
            o.Insert(o["id"] is null ? 0 : 1, "type", "message");
        }

        if (Str(o["type"]) == "message" && o["content"] is JsonValue text && text.TryGetValue<string>(out var said))
        {
            o["content"] = new JsonArray(Str(o["role"]) == "assistant"
                ? new JsonObject { ["type"] = "output_text", ["text"] = said, ["annotations"] = new JsonArray() }
                : new JsonObject { ["type"] = "input_text", ["text"] = said });
        }
    }

    /// <summary>The call's own input as items (a string is one user message), detached from the body, for keeping.</summary>
    public static byte[] OwnInputBytes(JsonObject body)
    {
        var items = new JsonArray();
        foreach (var item in OwnInput(body))
        {
            items.Add(item);
        }

        return JsonSerializer.SerializeToUtf8Bytes(items, Relaxed);
    }

    /// <summary>
    /// The response object the client got, made the gateway's: its <c>id</c> is <paramref name="id"/>, <c>store</c>
    /// is true, and <c>conversation</c> names <paramref name="conversation"/> when it belongs to one; with, in <paramref name="output"/>, what is kept of it (<see cref="OutputToKeep(JsonObject)"/>), read in
    /// the same parse. Null when <paramref name="json"/> is not a JSON object.
    /// </summary>
    public static byte[]? Stamp(ReadOnlySpan<byte> json, string id, string? conversation, out byte[]? output)
    {
        output = null;
        if (ParseNode(json) is not JsonObject response)
        {
            return null;
        }

        return MakeOurs(response, id, conversation, out output);
    }

    // The response object with the gateway's id, store: true and the conversation it belongs to, as bytes, and what is
    // kept of its output.
    private static byte[] MakeOurs(JsonObject response, string id, string? conversation, out byte[]? output)
    {
        response["id"] = id;
        response["store"] = true;
        if (conversation is not null)
        {
            response["conversation"] = new JsonObject { ["id"] = conversation };
        }

        output = OutputToKeep(response);
        return JsonSerializer.SerializeToUtf8Bytes(response, Relaxed);
    }

    /// <summary>
    /// A provider's stream event that carries the response object (<c>response.created</c>, <c>…completed</c>, …) as the
    /// client gets it when the gateway keeps the response: <c>event: TYPE</c> and <c>data:</c> with the response's
    /// <c>id</c> and <c>store</c> made the gateway's (<see cref="Stamp"/>), without the blank line that ends it; the
    /// response object alone in <paramref name="response"/>, and what is kept of it in <paramref name="output"/>. Null
    /// when the data is not such an event.
    /// </summary>
    public static byte[]? StampEvent(ReadOnlySpan<byte> data, string id, string? conversation, out byte[]? response, out byte[]? output)
    {
        response = null;
        output = null;
        if (ParseNode(data) is not JsonObject @event || @event["response"] is not JsonObject answer || Str(@event["type"]) is not { } type
            || type.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            return null;
        }

        response = MakeOurs(answer, id, conversation, out output);
        var stamped = new ArrayBufferWriter<byte>(response.Length + type.Length + 64);
        stamped.Write("event: "u8);
        stamped.Write(System.Text.Encoding.UTF8.GetBytes(type));
        stamped.Write("\ndata: "u8);
        stamped.Write(JsonSerializer.SerializeToUtf8Bytes(@event, Relaxed));
        return stamped.WrittenSpan.ToArray();
    }

    /// <summary>
    /// What a finished response leaves to keep: its output items in the form a later call sends them back in (assistant
    /// text as a message, function calls by <c>call_id</c>, reasoning only with its <c>encrypted_content</c>; items of
    /// the provider's hosted tools are left out), and whether it may be continued (completed or incomplete, not failed).
    /// </summary>
    public static byte[]? OutputToKeep(ReadOnlySpan<byte> response) => ParseNode(response) is JsonObject answer ? OutputToKeep(answer) : null;

    /// <summary>The same of a parsed response object.</summary>
    public static byte[]? OutputToKeep(JsonObject answer)
    {
        if ((answer["status"] as JsonValue)?.TryGetValue<string>(out var status) != true || status is not ("completed" or "incomplete"))
        {
            return null;
        }

        var items = new JsonArray();
        if (answer["output"] is JsonArray output)
        {
            foreach (var item in output)
            {
                if (Replayable(item) is { } replay)
                {
                    items.Add(replay);
                }
            }
        }

        return JsonSerializer.SerializeToUtf8Bytes(items, Relaxed);
    }

    /// <summary>An output item as a later call sends it back, or null for one that is not sent back.</summary>
    public static JsonNode? Replayable(JsonNode? item)
    {
        switch (Str(item?["type"]))
        {
            case "message" when Str(item!["role"]) == "assistant":
                var text = new System.Text.StringBuilder();
                if (item["content"] is JsonArray parts)
                {
                    foreach (var part in parts)
                    {
                        text.Append(Str(part?["type"]) switch
                        {
                            "output_text" => Str(part!["text"]),
                            "refusal" => Str(part!["refusal"]),
                            _ => null,
                        });
                    }
                }

                return new JsonObject { ["role"] = "assistant", ["content"] = text.ToString() };
            case "function_call" when Str(item!["call_id"]) is { } callId && Str(item["name"]) is { } name:
                return new JsonObject { ["type"] = "function_call", ["call_id"] = callId, ["name"] = name, ["arguments"] = Str(item["arguments"]) ?? "{}" };
            case "reasoning" when Str(item!["encrypted_content"]) is { } encrypted:
                var reasoning = new JsonObject { ["type"] = "reasoning" };
                if (Str(item["id"]) is { } reasoningId)
                {
                    reasoning["id"] = reasoningId;
                }

                reasoning["summary"] = item["summary"]?.DeepClone() ?? new JsonArray();
                reasoning["encrypted_content"] = encrypted;
                return reasoning;
            default:
                return null;
        }
    }

    /// <summary>The call's own input as items (a string is one user message), detached from the body.</summary>
    public static IEnumerable<JsonNode> OwnInput(JsonObject body)
    {
        switch (body["input"])
        {
            case JsonValue v when v.TryGetValue<string>(out var text):
                yield return new JsonObject { ["role"] = "user", ["content"] = text };
                break;
            case JsonArray items:
                foreach (var item in items)
                {
                    if (item is not null)
                    {
                        yield return item.DeepClone();
                    }
                }

                break;
        }
    }

    private static void AddItems(JsonArray to, ReadOnlyMemory<byte> items)
    {
        if (JsonNode.Parse(items.Span) is JsonArray array)
        {
            foreach (var item in array.ToArray())
            {
                array.Remove(item);
                to.Add(item);
            }
        }
    }

    private static JsonNode? ParseNode(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException)
        {
            return null;
        }
    }


    /// <summary>
    /// One kept response: its input, output and response object in one array, so that a node keeping many conversations
    /// gives its garbage collector few objects to trace and move.
    /// </summary>
    public sealed class Entry : Record
    {
        private readonly byte[] _data;
        private readonly int _outputAt;
        private readonly int _responseAt;

        /// <param name="application">The application whose credentials made it: the only one that can read or continue it.</param>
        /// <param name="chain">The ids of the responses it continued, oldest first (empty for a first one).</param>
        /// <param name="input">Its own input items (JSON array), without the conversation before it.</param>
        /// <param name="output">Its output items as a later call sends them back (JSON array).</param>
        /// <param name="response">The response object the client got, for <c>GET …/responses/{id}</c>.</param>
        public Entry(string id, string application, string[] chain, ReadOnlySpan<byte> input, ReadOnlySpan<byte> output, ReadOnlySpan<byte> response)
            : base(id, application)
        {
            Chain = chain;
            _data = new byte[input.Length + output.Length + response.Length];
            input.CopyTo(_data);
            output.CopyTo(_data.AsSpan(_outputAt = input.Length));
            response.CopyTo(_data.AsSpan(_responseAt = input.Length + output.Length));
        }

        public string[] Chain { get; }

        public ReadOnlyMemory<byte> Input => _data.AsMemory(0, _outputAt);

        public ReadOnlyMemory<byte> Output => _data.AsMemory(_outputAt, _responseAt - _outputAt);

        public ReadOnlyMemory<byte> Response => _data.AsMemory(_responseAt);

        /// <summary>The response it continued, or null.</summary>
        public string? Previous => Chain.Length == 0 ? null : Chain[^1];

        // The index of its output items' ids (Kept's) counted too: about 64 bytes each beside the id.
        public override long Bytes => _data.Length + Id.Length + (Chain.Length * 40) + (ItemIds.Length * 64) + 160;

        /// <summary>
        /// The ids of the response's output items as the client got them (a later call's <c>item_reference</c> names one),
        /// each once; items with no id, or one longer than <see cref="MaxIdLength"/>, are left out.
        /// </summary>
        public string[] ItemIds => _itemIds ??= OutputIds(Response.Span);

        private string[]? _itemIds;
    }

    // The ids of a response object's output items, read without a document.
    private static string[] OutputIds(ReadOnlySpan<byte> response)
    {
        var ids = new List<string>();
        try
        {
            var reader = new Utf8JsonReader(response, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return [];
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("output"u8))
                {
                    reader.Read();
                    reader.Skip();
                    continue;
                }

                if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                {
                    return [];
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isId = reader.ValueTextEquals("id"u8);
                        reader.Read();
                        if (isId && reader.TokenType == JsonTokenType.String && reader.GetString() is { Length: > 0 and <= MaxIdLength } id && !ids.Contains(id))
                        {
                            ids.Add(id);
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }

                break;
            }
        }
        catch (JsonException)
        {
            // What was read before the fault is kept; a response object the gateway wrote is whole.
        }

        return [.. ids];
    }

    /// <summary>
    /// The output item <paramref name="itemId"/> of a kept response as a later call sends it back (<see cref="Replayable"/>),
    /// or null when it is not sent back (a reasoning item without its <c>encrypted_content</c>, a hosted tool's item).
    /// </summary>
    public static JsonNode? ReferencedItem(Entry entry, string itemId)
    {
        if (ParseNode(entry.Response.Span) is JsonObject { } response && response["output"] is JsonArray output)
        {
            foreach (var item in output)
            {
                if (Str(item?["id"]) == itemId)
                {
                    return Replayable(item);
                }
            }
        }

        return null;
    }

    /// <summary>What looking up the output items that <c>item_reference</c> input items name found, by item id.</summary>
    public enum ItemFound
    {
        /// <summary>Not among this application's kept responses (never, deleted, or no longer kept).</summary>
        Missing,

        /// <summary>In more than one of them: the provider gives items ids that are not unique, so which is meant is not known.</summary>
        Ambiguous,

        Found,
    }

    /// <summary>What a store keeps under an id of an application: a response (<see cref="Entry"/>) or a conversation.</summary>
    public abstract class Record(string id, string application)
    {
        public string Id { get; } = id;

        /// <summary>The application whose credentials made it: the only one that can read, continue or change it.</summary>
        public string Application { get; } = application;

        /// <summary>What it takes of the store's size bound.</summary>
        public abstract long Bytes { get; }

        public DateTimeOffset Expires { get; set; }
    }

    /// <summary>What adding items to a conversation came to.</summary>
    public enum Appended
    {
        Done,

        /// <summary>The conversation is not kept (never made by this application, deleted, or expired).</summary>
        NotFound,

        /// <summary>It would hold more than <see cref="AiConversations.MaxItems"/> items, or more than the store may keep.</summary>
        Full,

        /// <summary>Other calls kept changing it meanwhile (Redis): nothing was added; the call may be made again.</summary>
        Busy,
    }

    /// <summary>Where one service's responses and conversations are kept.</summary>
    public abstract class ResponseStore
    {
        /// <summary>
        /// Whether an entry must name its whole chain (to read it at once from a remote store), or only the response it
        /// continued (a walk in memory): a conversation of N responses then keeps N ids, not N²/2.
        /// </summary>
        public virtual bool WholeChains => false;

        public abstract ValueTask AddAsync(Entry entry, AiResponsesConfig config);

        /// <summary>The response, if <paramref name="application"/> made it and it is still kept.</summary>
        public abstract ValueTask<Entry?> GetAsync(string application, string id);

        public abstract ValueTask<bool> DeleteAsync(string application, string id);

        /// <summary>
        /// The chain that ends in <paramref name="id"/>, oldest first, each kept <paramref name="ttl"/> from now again; null
        /// when any of it is missing.
        /// </summary>
        public abstract ValueTask<List<Entry>?> ChainAsync(string application, string id, TimeSpan ttl);

        /// <summary>Keeps a new conversation; false when it is larger than the store may keep.</summary>
        public abstract ValueTask<bool> CreateConversationAsync(Conversation conversation, AiResponsesConfig config);

        /// <summary>The conversation, if <paramref name="application"/> made it and it is still kept; kept <paramref name="ttl"/> from now again.</summary>
        public abstract ValueTask<ConversationView?> ConversationAsync(string application, string id, TimeSpan ttl);

        /// <summary>Replaces a conversation's metadata; null when it is not kept.</summary>
        public abstract ValueTask<ConversationView?> SetMetadataAsync(string application, string id, byte[] metadata, TimeSpan ttl);

        public abstract ValueTask<bool> DeleteConversationAsync(string application, string id);

        /// <summary>
        /// Adds items at the end of a conversation, at once (a concurrent call's items go wholly before or after), with ids
        /// unique in it (<see cref="AiConversations.Unique"/>); the items as added. <paramref name="seen"/>: the conversation
        /// as the caller read it just before, if it did (a remote store may then skip reading it again).
        /// </summary>
        public abstract ValueTask<(Appended Outcome, ConversationItem[] Added)> AppendAsync(string application, string id, IReadOnlyList<ConversationItem> items, AiResponsesConfig config, ConversationView? seen = null);

        /// <summary>Removes an item; the conversation as it is after, or null when it is not kept (<c>Found</c>: the item was there).</summary>
        public abstract ValueTask<(ConversationView? Conversation, bool Found)> DeleteItemAsync(string application, string id, string itemId, TimeSpan ttl);

        /// <summary>Forgets every response and conversation of <paramref name="applications"/>.</summary>
        public abstract ValueTask ForgetAsync(IReadOnlyList<string> applications);

        /// <summary>
        /// The kept responses of <paramref name="application"/> whose output holds each of <paramref name="itemIds"/>
        /// (<see cref="Entry.ItemIds"/>), each kept <paramref name="ttl"/> from now again, as for a continuation.
        /// </summary>
        public abstract ValueTask<Dictionary<string, (ItemFound Found, Entry? Entry)>> ItemsAsync(string application, IReadOnlyList<string> itemIds, TimeSpan ttl);
    }

    /// <summary>The responses and conversations of one service: a least-recently-used list under one lock, bounded in bytes.</summary>
    public sealed class Kept(TimeProvider time) : ResponseStore
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<(string Application, string Id), LinkedListNode<Record>> _byKey = [];
        private readonly LinkedList<Record> _recent = new();

        // Output item ids of the kept responses, for item_reference: the response that holds one, or none when more than
        // one does (Count of them; the entry goes when the last of them is dropped).
        private readonly Dictionary<(string Application, string ItemId), (LinkedListNode<Record>? Node, int Count)> _byItem = [];
        private long _bytes;
        private int _conversations;

        /// <summary>Bytes kept (for tests and the docs' sizing).</summary>
        public long Bytes
        {
            get
            {
                lock (_lock)
                {
                    return _bytes;
                }
            }
        }

        /// <summary>Responses kept.</summary>
        public int Count
        {
            get
            {
                lock (_lock)
                {
                    return _byKey.Count - _conversations;
                }
            }
        }

        /// <summary>Conversations kept.</summary>
        public int Conversations
        {
            get
            {
                lock (_lock)
                {
                    return _conversations;
                }
            }
        }

        public override ValueTask AddAsync(Entry entry, AiResponsesConfig config)
        {
            Add(entry, config);
            return ValueTask.CompletedTask;
        }

        public override ValueTask<Entry?> GetAsync(string application, string id) => ValueTask.FromResult(Get(application, id));

        public override ValueTask<bool> DeleteAsync(string application, string id) => ValueTask.FromResult(Delete(application, id));

        /// <summary>Forgets a response; false when it is not kept.</summary>
        public bool Delete(string application, string id) => Delete<Entry>(application, id);

        public override ValueTask<List<Entry>?> ChainAsync(string application, string id, TimeSpan ttl) => ValueTask.FromResult(Chain(application, id, ttl));

        public void Add(Entry entry, AiResponsesConfig config) => Keep(entry, config);

        /// <summary>The response, if <paramref name="application"/> made it and it is still kept.</summary>
        public Entry? Get(string application, string id)
        {
            var now = time.GetUtcNow();
            lock (_lock)
            {
                return Find<Entry>(application, id, now)?.Value as Entry;
            }
        }

        /// <summary>
        /// The chain that ends in <paramref name="id"/>, oldest first, each made recent again and kept <paramref name="ttl"/>
        /// from now; null when any of it is missing.
        /// </summary>
        public List<Entry>? Chain(string application, string id, TimeSpan ttl)
        {
            var now = time.GetUtcNow();
            lock (_lock)
            {
                var nodes = new List<LinkedListNode<Record>>();
                string? next = id;
                while (next is not null)
                {
                    if (nodes.Count == MaxChain || Find<Entry>(application, next, now) is not { } node)
                    {
                        return null;
                    }

                    nodes.Add(node);
                    next = ((Entry)node.Value).Previous;
                }

                var chain = new List<Entry>(nodes.Count);
                for (var i = nodes.Count - 1; i >= 0; i--)
                {
                    Touch(nodes[i], now + ttl);
                    chain.Add((Entry)nodes[i].Value);
                }

                return chain;
            }
        }

        public override ValueTask<bool> CreateConversationAsync(Conversation conversation, AiResponsesConfig config) => ValueTask.FromResult(Keep(conversation, config));

        public override ValueTask<ConversationView?> ConversationAsync(string application, string id, TimeSpan ttl) =>
            ValueTask.FromResult(Change(application, id, ttl, static _ => { }));

        public override ValueTask<ConversationView?> SetMetadataAsync(string application, string id, byte[] metadata, TimeSpan ttl) =>
            ValueTask.FromResult(Change(application, id, ttl, c => c.Metadata = metadata));

        public override ValueTask<bool> DeleteConversationAsync(string application, string id) => ValueTask.FromResult(Delete<Conversation>(application, id));

        public override ValueTask<(Appended Outcome, ConversationItem[] Added)> AppendAsync(string application, string id, IReadOnlyList<ConversationItem> items, AiResponsesConfig config, ConversationView? seen = null)
        {
            var now = time.GetUtcNow();
            var adding = items.Sum(item => item.Bytes);
            lock (_lock)
            {
                if (Find<Conversation>(application, id, now) is not { } node)
                {
                    return ValueTask.FromResult((Appended.NotFound, Array.Empty<ConversationItem>()));
                }

                var conversation = (Conversation)node.Value;
                if (conversation.Items.Count + items.Count > AiConversations.MaxItems || conversation.Bytes + adding > config.Size)
                {
                    return ValueTask.FromResult((Appended.Full, Array.Empty<ConversationItem>()));
                }

                var added = AiConversations.Unique(conversation.Items.Select(item => item.Id), items);
                _bytes -= conversation.Bytes;
                conversation.Add(added);
                _bytes += conversation.Bytes;
                Touch(node, now + config.Ttl);
                Trim(config.Size, now);
                return ValueTask.FromResult((Appended.Done, added));
            }
        }

        public override ValueTask<(ConversationView? Conversation, bool Found)> DeleteItemAsync(string application, string id, string itemId, TimeSpan ttl)
        {
            var found = false;
            var view = Change(application, id, ttl, c =>
            {
                var at = AiConversations.IndexOf(c.Items, itemId);
                if (found = at >= 0)
                {
                    c.RemoveAt(at);
                }
            });
            return ValueTask.FromResult((view, found));
        }

        public override ValueTask<Dictionary<string, (ItemFound Found, Entry? Entry)>> ItemsAsync(string application, IReadOnlyList<string> itemIds, TimeSpan ttl)
        {
            var now = time.GetUtcNow();
            var found = new Dictionary<string, (ItemFound, Entry?)>(StringComparer.Ordinal);
            lock (_lock)
            {
                foreach (var itemId in itemIds)
                {
                    if (!_byItem.TryGetValue((application, itemId), out var at))
                    {
                        found[itemId] = (ItemFound.Missing, null);
                    }
                    else if (at.Node is not { } node)
                    {
                        found[itemId] = (ItemFound.Ambiguous, null);
                    }
                    else if (node.Value.Expires <= now)
                    {
                        Drop(node);
                        found[itemId] = (ItemFound.Missing, null);
                    }
                    else
                    {
                        Touch(node, now + ttl);
                        found[itemId] = (ItemFound.Found, (Entry)node.Value);
                    }
                }
            }

            return ValueTask.FromResult(found);
        }

        public override ValueTask ForgetAsync(IReadOnlyList<string> applications)
        {
            var leaving = applications.ToHashSet(StringComparer.Ordinal);
            lock (_lock)
            {
                var node = _recent.First;
                while (node is not null)
                {
                    var next = node.Next;
                    if (leaving.Contains(node.Value.Application))
                    {
                        Drop(node);
                    }

                    node = next;
                }
            }

            return ValueTask.CompletedTask;
        }

        // Keeps a response or a new conversation, most recent, dropping the least recent beyond the size; false when it
        // alone is larger than the size (not kept, like a cache's oversized entry).
        private bool Keep(Record record, AiResponsesConfig config)
        {
            if (record.Bytes > config.Size)
            {
                return false;
            }

            var now = time.GetUtcNow();
            record.Expires = now + config.Ttl;
            lock (_lock)
            {
                var key = Key(record.Application, record.Id);
                if (_byKey.TryGetValue(key, out var old))
                {
                    Drop(old);
                }

                var node = _byKey[key] = _recent.AddLast(record);
                if (record is Entry entry)
                {
                    foreach (var itemId in entry.ItemIds)
                    {
                        ref var at = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_byItem, (record.Application, itemId), out var exists);
                        at = exists ? (null, at.Count + 1) : (node, 1);
                    }
                }

                _bytes += record.Bytes;
                _conversations += record is Conversation ? 1 : 0;
                Trim(config.Size, now);
                return true;
            }
        }

        // Reads (and changes) a conversation under the lock, made recent again; null when it is not kept.
        private ConversationView? Change(string application, string id, TimeSpan ttl, Action<Conversation> change)
        {
            var now = time.GetUtcNow();
            lock (_lock)
            {
                if (Find<Conversation>(application, id, now) is not { } node)
                {
                    return null;
                }

                var conversation = (Conversation)node.Value;
                _bytes -= conversation.Bytes;
                change(conversation);
                _bytes += conversation.Bytes;
                Touch(node, now + ttl);
                return conversation.View();
            }
        }

        private bool Delete<T>(string application, string id)
            where T : Record
        {
            lock (_lock)
            {
                if (!_byKey.TryGetValue(Key(application, id), out var node) || node.Value is not T)
                {
                    return false;
                }

                Drop(node);
                return true;
            }
        }

        private void Touch(LinkedListNode<Record> node, DateTimeOffset expires)
        {
            node.Value.Expires = expires;
            _recent.Remove(node);
            _recent.AddLast(node);
        }

        private void Trim(long size, DateTimeOffset now)
        {
            while (_recent.First is { } oldest && (_bytes > size || oldest.Value.Expires <= now))
            {
                Drop(oldest);
            }
        }

        private LinkedListNode<Record>? Find<T>(string application, string id, DateTimeOffset now)
            where T : Record
        {
            if (!_byKey.TryGetValue(Key(application, id), out var node) || node.Value is not T)
            {
                return null;
            }

            if (node.Value.Expires <= now)
            {
                Drop(node);
                return null;
            }

            return node;
        }

        private void Drop(LinkedListNode<Record> node)
        {
            _byKey.Remove(Key(node.Value.Application, node.Value.Id));
            if (node.Value is Entry entry)
            {
                foreach (var itemId in entry.ItemIds)
                {
                    var key = (node.Value.Application, itemId);
                    if (_byItem.TryGetValue(key, out var at))
                    {
                        // Still ambiguous with one left: which response that is was not kept, so it stays not resolvable.
                        if (at.Count <= 1)
                        {
                            _byItem.Remove(key);
                        }
                        else
                        {
                            _byItem[key] = (null, at.Count - 1);
                        }
                    }
                }
            }

            _recent.Remove(node);
            _bytes -= node.Value.Bytes;
            _conversations -= node.Value is Conversation ? 1 : 0;
        }

        private static (string, string) Key(string application, string id) => (application, id);
    }
}
