using System.Buffers;
using System.Text;
using System.Text.Json;
using Gatehouse.Gateway.Limiting.Cluster;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Responses kept in Redis (<c>ai.responses.redis</c>), shared by every node, so that a conversation can go on at any
/// of them. One key per response, <c>gatehouse:ai:{SERVICE/APPLICATION}:ID</c> (the braces keep an application's keys on
/// one slot of a Redis Cluster, so that a chain is read with one <c>MGET</c>), expiring <c>ttl</c> after it was made
/// or last continued. Each value holds the ids of the chain before it, so a continuation costs two round trips
/// whatever its length: the previous response, then every earlier one at once. Each output item's id has a key too
/// (<c>…:item:ITEM_ID</c>, naming its response), for <c>item_reference</c>.
/// </summary>
internal sealed partial class RedisResponses : AiResponses.ResponseStore, IDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly ILogger _log;
    private readonly string _service;
    private int _down;

    // Adds a conversation's items in one round trip: KEYS[1] the conversation, KEYS[2] its items; ARGV[1] the length of
    // the list the ids were made unique against, ARGV[2] the ttl in milliseconds, ARGV[3..] the items. 1 when added,
    // -1 when the conversation is not kept, 0 when the list changed meanwhile (nothing added: read again).
    private const string AppendScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[1]) then return 0 end
        redis.call('RPUSH', KEYS[2], unpack(ARGV, 3))
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        redis.call('PEXPIRE', KEYS[2], ARGV[2])
        return 1
        """;

    // Keeps a response and indexes its output items' ids: KEYS[1] the response, KEYS[2..] KEY:item:ITEM_ID; ARGV[1] the
    // value, ARGV[2] the ttl in milliseconds, ARGV[3] the response's id. An item id already naming another response is
    // marked '*' (ambiguous: the provider does not give unique ids) for as long as either is kept.
    private const string AddScript = """
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        for i = 2, #KEYS do
          local v = redis.call('GET', KEYS[i])
          if v and v ~= ARGV[3] then
            redis.call('SET', KEYS[i], '*', 'PX', math.max(tonumber(ARGV[2]), redis.call('PTTL', KEYS[i])))
          else
            redis.call('SET', KEYS[i], ARGV[3], 'PX', ARGV[2])
          end
        end
        return 1
        """;

    public RedisResponses(string configuration, string service, ILoggerFactory loggers)
    {
        _service = service;
        _log = loggers.CreateLogger("Gatehouse.Ai");
        var options = RedisLimitEngine.Options(configuration);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast; // a call must not wait for a Redis that is down
        options.ConnectTimeout = 2_000;
        options.AsyncTimeout = 2_000;
        options.SyncTimeout = 2_000;
        options.ConnectRetry = 1;
        options.ClientName = "gatehouse-ai-responses";
        _redis = ConnectionMultiplexer.Connect(options);
    }

    public override bool WholeChains => true;

    public override async ValueTask AddAsync(AiResponses.Entry entry, AiResponsesConfig config)
    {
        if (entry.Bytes > config.Size)
        {
            return;
        }

        try
        {
            var value = Encode(entry);
            if (entry.ItemIds.Length == 0)
            {
                await _redis.GetDatabase().StringSetAsync(Key(entry.Application, entry.Id), value, config.Ttl).ConfigureAwait(false);
            }
            else
            {
                RedisKey[] keys = [Key(entry.Application, entry.Id), .. entry.ItemIds.Select(itemId => (RedisKey)ItemKey(entry.Application, itemId))];
                await _redis.GetDatabase().ScriptEvaluateAsync(AddScript, keys, [value, (long)config.Ttl.TotalMilliseconds, entry.Id]).ConfigureAwait(false);
            }

            Up();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The client still gets its answer; its id will not be found. Logged once per outage.
            Failed("keep", e);
        }
    }

    public override async ValueTask<AiResponses.Entry?> GetAsync(string application, string id)
    {
        if (!Names(id))
        {
            return null;
        }

        var value = await Call("read", () => _redis.GetDatabase().StringGetAsync(Key(application, id))).ConfigureAwait(false);
        return value.IsNull ? null : Decode(application, id, value!);
    }

    public override async ValueTask<bool> DeleteAsync(string application, string id) =>
        Names(id) && await Call("delete", () => _redis.GetDatabase().KeyDeleteAsync(Key(application, id))).ConfigureAwait(false);

    public override async ValueTask<List<AiResponses.Entry>?> ChainAsync(string application, string id, TimeSpan ttl)
    {
        if (await GetAsync(application, id).ConfigureAwait(false) is not { } last)
        {
            return null;
        }

        var chain = new List<AiResponses.Entry>(last.Chain.Length + 1);
        if (last.Chain.Length > 0)
        {
            var keys = last.Chain.Select(earlier => (RedisKey)Key(application, earlier)).ToArray();
            var values = await Call("read", () => _redis.GetDatabase().StringGetAsync(keys)).ConfigureAwait(false);
            for (var i = 0; i < values.Length; i++)
            {
                if (values[i].IsNull)
                {
                    return null;
                }

                if (Decode(application, last.Chain[i], values[i]!) is not { } earlier)
                {
                    return null;
                }

                chain.Add(earlier);
            }
        }

        chain.Add(last);

        // Continued: every response of the conversation is kept ttl from now again (not waited for).
        var batch = _redis.GetDatabase().CreateBatch();
        foreach (var entry in chain)
        {
            _ = batch.KeyExpireAsync(Key(application, entry.Id), ttl, CommandFlags.FireAndForget);
        }

        batch.Execute();
        return chain;
    }

    // Two round trips: the item keys, then the responses they name; both kept ttl from now again (not waited for).
    public override async ValueTask<Dictionary<string, (AiResponses.ItemFound Found, AiResponses.Entry? Entry)>> ItemsAsync(string application, IReadOnlyList<string> itemIds, TimeSpan ttl)
    {
        var found = new Dictionary<string, (AiResponses.ItemFound, AiResponses.Entry?)>(StringComparer.Ordinal);
        var db = _redis.GetDatabase();
        var itemKeys = itemIds.Select(itemId => (RedisKey)ItemKey(application, itemId)).ToArray();
        var named = await Call("read", () => db.StringGetAsync(itemKeys)).ConfigureAwait(false);
        var responseIds = named.Where(v => !v.IsNull && v != "*").Select(v => (string)v!).Distinct(StringComparer.Ordinal).Where(Names).ToArray();
        var entries = new Dictionary<string, AiResponses.Entry>(StringComparer.Ordinal);
        if (responseIds.Length > 0)
        {
            var values = await Call("read", () => db.StringGetAsync([.. responseIds.Select(id => (RedisKey)Key(application, id))])).ConfigureAwait(false);
            for (var i = 0; i < values.Length; i++)
            {
                if (!values[i].IsNull && Decode(application, responseIds[i], values[i]!) is { } entry)
                {
                    entries[entry.Id] = entry;
                }
            }
        }

        var batch = db.CreateBatch();
        for (var i = 0; i < itemIds.Count; i++)
        {
            if (named[i].IsNull)
            {
                found[itemIds[i]] = (AiResponses.ItemFound.Missing, null);
            }
            else if (named[i] == "*")
            {
                found[itemIds[i]] = (AiResponses.ItemFound.Ambiguous, null);
            }
            else if (entries.TryGetValue(named[i]!, out var entry))
            {
                found[itemIds[i]] = (AiResponses.ItemFound.Found, entry);
                _ = batch.KeyExpireAsync(itemKeys[i], ttl, CommandFlags.FireAndForget);
            }
            else
            {
                found[itemIds[i]] = (AiResponses.ItemFound.Missing, null); // its response was deleted or dropped
            }
        }

        foreach (var id in entries.Keys)
        {
            _ = batch.KeyExpireAsync(Key(application, id), ttl, CommandFlags.FireAndForget);
        }

        batch.Execute();
        return found;
    }

    // A conversation is two keys on its application's slot: KEY ({"t":created_at,"m":metadata}) and KEY:items, a list of
    // its items ({"i":id,"o":output,"j":item}), both expiring ttl after the conversation was last used.
    public override async ValueTask<bool> CreateConversationAsync(Conversation conversation, AiResponsesConfig config)
    {
        if (conversation.Bytes > config.Size)
        {
            return false;
        }

        var key = Key(conversation.Application, conversation.Id);
        var transaction = _redis.GetDatabase().CreateTransaction();
        _ = transaction.StringSetAsync(key, EncodeMeta(conversation.CreatedAt, conversation.Metadata), config.Ttl);
        if (conversation.Items.Count > 0)
        {
            _ = transaction.ListRightPushAsync(key + ":items", [.. conversation.Items.Select(Encode)]);
            _ = transaction.KeyExpireAsync(key + ":items", config.Ttl);
        }

        return await Call("keep", () => transaction.ExecuteAsync()).ConfigureAwait(false);
    }

    public override async ValueTask<ConversationView?> ConversationAsync(string application, string id, TimeSpan ttl)
    {
        if (!Names(id))
        {
            return null;
        }

        var key = Key(application, id);
        var (meta, items) = await ReadConversationAsync(key).ConfigureAwait(false);
        if (DecodeMeta(meta) is not { } read)
        {
            return null;
        }

        Touch(key, ttl);
        return new ConversationView(id, read.CreatedAt, read.Metadata, [.. items.Select(item => Decode(item!)).OfType<ConversationItem>()]);
    }

    // The items are left out of the answer: only the conversation object is written after a change of its metadata.
    public override async ValueTask<ConversationView?> SetMetadataAsync(string application, string id, byte[] metadata, TimeSpan ttl)
    {
        if (!Names(id))
        {
            return null;
        }

        var key = Key(application, id);
        if (DecodeMeta(await Call("read", () => _redis.GetDatabase().StringGetAsync(key)).ConfigureAwait(false)) is not { } read)
        {
            return null;
        }

        var transaction = _redis.GetDatabase().CreateTransaction();
        transaction.AddCondition(Condition.KeyExists(key));
        _ = transaction.StringSetAsync(key, EncodeMeta(read.CreatedAt, metadata), ttl);
        _ = transaction.KeyExpireAsync(key + ":items", ttl);
        return await Call("keep", () => transaction.ExecuteAsync()).ConfigureAwait(false) ? new ConversationView(id, read.CreatedAt, metadata, []) : null;
    }

    public override async ValueTask<bool> DeleteConversationAsync(string application, string id)
    {
        if (!Names(id))
        {
            return false;
        }

        var key = Key(application, id);
        if (DecodeMeta(await Call("read", () => _redis.GetDatabase().StringGetAsync(key)).ConfigureAwait(false)) is null)
        {
            return false; // nothing, or a response's key
        }

        return await Call("delete", () => _redis.GetDatabase().KeyDeleteAsync([key, key + ":items"])).ConfigureAwait(false) > 0;
    }

    public override async ValueTask<(AiResponses.Appended Outcome, ConversationItem[] Added)> AppendAsync(string application, string id, IReadOnlyList<ConversationItem> items, AiResponsesConfig config, ConversationView? seen = null)
    {
        if (!Names(id))
        {
            return (AiResponses.Appended.NotFound, []);
        }

        if (items.Sum(item => item.Bytes) > config.Size)
        {
            return (AiResponses.Appended.Full, []);
        }

        // Optimistically: the items' ids are made unique against the list as read, and pushed (AppendScript) only if its
        // length is still what was read; else read again after a short random wait, as many times as concurrent writers
        // of one conversation need in practice (calls that add to it at once), then give up as busy.
        var key = Key(application, id);
        for (var attempt = 0; attempt < 32; attempt++)
        {
            if (attempt > 0)
            {
                await Task.Delay(Random.Shared.Next(1, 2 + Math.Min(attempt, 8))).ConfigureAwait(false);
            }

            // The first try takes the conversation as the caller read it, if it did (a call in it read it whole to send it
            // to the provider); one that changed since fails the length condition, and is read again.
            string[] ids;
            if (attempt == 0 && seen is not null)
            {
                ids = [.. seen.Items.Select(item => item.Id)];
            }
            else
            {
                var (meta, values) = await ReadConversationAsync(key).ConfigureAwait(false);
                if (DecodeMeta(meta) is null)
                {
                    return (AiResponses.Appended.NotFound, []);
                }

                ids = [.. values.Select(value => IdOf(value!))];
            }

            if (ids.Length + items.Count > AiConversations.MaxItems)
            {
                return (AiResponses.Appended.Full, []);
            }

            var unique = AiConversations.Unique(ids, items);
            RedisValue[] arguments = [ids.Length, (long)config.Ttl.TotalMilliseconds, .. unique.Select(item => (RedisValue)Encode(item))];
            var pushed = (long)await Call("keep", () => _redis.GetDatabase().ScriptEvaluateAsync(AppendScript, [key, key + ":items"], arguments)).ConfigureAwait(false);
            if (pushed == 1)
            {
                return (AiResponses.Appended.Done, unique);
            }

            if (pushed == -1)
            {
                return (AiResponses.Appended.NotFound, []);
            }
        }

        return (AiResponses.Appended.Busy, []);
    }

    private Task<(RedisValue Meta, RedisValue[] Items)> ReadConversationAsync(string key) =>
        Call("read", async () =>
        {
            var database = _redis.GetDatabase();
            var metaRead = database.StringGetAsync(key);
            var itemsRead = database.ListRangeAsync(key + ":items");
            return (await metaRead.ConfigureAwait(false), await itemsRead.ConfigureAwait(false));
        });

    public override async ValueTask<(ConversationView? Conversation, bool Found)> DeleteItemAsync(string application, string id, string itemId, TimeSpan ttl)
    {
        if (!Names(id))
        {
            return (null, false);
        }

        var key = Key(application, id);
        var (meta, values) = await ReadConversationAsync(key).ConfigureAwait(false);
        if (DecodeMeta(meta) is not { } read)
        {
            return (null, false);
        }

        var items = values.Select(value => (Value: value, Item: Decode(value!))).Where(pair => pair.Item is not null).ToList();
        var at = items.FindIndex(pair => pair.Item!.Id == itemId);
        if (at >= 0)
        {
            // The item's exact value: a concurrent change of the list cannot make this remove another.
            await Call("delete", () => _redis.GetDatabase().ListRemoveAsync(key + ":items", items[at].Value, 1)).ConfigureAwait(false);
            items.RemoveAt(at);
        }

        Touch(key, ttl);
        return (new ConversationView(id, read.CreatedAt, read.Metadata, [.. items.Select(pair => pair.Item!)]), at >= 0);
    }

    // Every key of the applications' slots (responses, conversations, their items), found with SCAN on each primary.
    public override async ValueTask ForgetAsync(IReadOnlyList<string> applications)
    {
        foreach (var application in applications)
        {
            var pattern = Glob($"gatehouse:ai:{{{_service}/{application}}}:") + "*";
            foreach (var server in _redis.GetServers().Where(server => server.IsConnected && !server.IsReplica))
            {
                var keys = new List<RedisKey>(256);
                await foreach (var key in server.KeysAsync(pattern: pattern, pageSize: 256).ConfigureAwait(false))
                {
                    keys.Add(key);
                    if (keys.Count == 256)
                    {
                        await _redis.GetDatabase().KeyDeleteAsync([.. keys]).ConfigureAwait(false);
                        keys.Clear();
                    }
                }

                if (keys.Count > 0)
                {
                    await _redis.GetDatabase().KeyDeleteAsync([.. keys]).ConfigureAwait(false);
                }
            }
        }
    }

    public void Dispose() => _redis.Dispose();

    // A glob that matches the text as it is: Redis's pattern characters escaped.
    private static string Glob(string text)
    {
        var escaped = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            escaped.Append(c is '*' or '?' or '[' or ']' or '\\' ? "\\" + c : c.ToString());
        }

        return escaped.ToString();
    }

    // An id with ':' names no response or conversation (the gateway's have none), and could name a conversation's list of
    // items, which is not a string: reading it would be an error, not a miss.
    private static bool Names(string id) => !id.Contains(':', StringComparison.Ordinal);

    // Used again: the conversation is kept ttl from now (not waited for).
    private void Touch(string key, TimeSpan ttl)
    {
        var batch = _redis.GetDatabase().CreateBatch();
        _ = batch.KeyExpireAsync(key, ttl, CommandFlags.FireAndForget);
        _ = batch.KeyExpireAsync(key + ":items", ttl, CommandFlags.FireAndForget);
        batch.Execute();
    }

    private static byte[] EncodeMeta(long createdAt, byte[] metadata)
    {
        var buffer = new ArrayBufferWriter<byte>(metadata.Length + 32);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("t", createdAt);
            json.WritePropertyName("m");
            json.WriteRawValue(metadata, skipInputValidation: true);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    // Null for nothing, and for a value that is not a conversation's (a response's, say).
    private static (long CreatedAt, byte[] Metadata)? DecodeMeta(RedisValue value)
    {
        if (value.IsNull)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse((byte[])value!);
            var root = document.RootElement;
            return root.TryGetProperty("t", out var created) && root.TryGetProperty("m", out var metadata) && metadata.ValueKind == JsonValueKind.Object
                ? (created.GetInt64(), Encoding.UTF8.GetBytes(metadata.GetRawText()))
                : null;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    private static byte[] Encode(ConversationItem item)
    {
        var buffer = new ArrayBufferWriter<byte>(item.Json.Length + item.Id.Length + 32);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("i", item.Id);
            json.WriteBoolean("o", item.Output);
            json.WritePropertyName("j");
            json.WriteRawValue(item.Json, skipInputValidation: true);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    // Read in the order Encode writes, with a reader rather than a document: the item's JSON is sliced out as it is, and
    // a conversation's every item is decoded on each call in it.
    private static ConversationItem? Decode(byte[] value)
    {
        try
        {
            var reader = new Utf8JsonReader(value);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject || Property(ref reader, "i"u8) is not JsonTokenType.String)
            {
                return null;
            }

            var id = reader.GetString()!;
            if (Property(ref reader, "o"u8) is not (JsonTokenType.True or JsonTokenType.False))
            {
                return null;
            }

            var output = reader.GetBoolean();
            if (Property(ref reader, "j"u8) is not JsonTokenType.StartObject)
            {
                return null;
            }

            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            return new ConversationItem(id, output, value.AsSpan(start, (int)reader.BytesConsumed - start).ToArray());
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // Moves to the next property, which must be NAME, and to its value; the value's token, or None.
    private static JsonTokenType Property(ref Utf8JsonReader reader, ReadOnlySpan<byte> name) =>
        reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals(name) && reader.Read() ? reader.TokenType : JsonTokenType.None;

    // Only the id of an item as Encode wrote it, for making new ids unique.
    private static string IdOf(byte[] value)
    {
        try
        {
            var reader = new Utf8JsonReader(value);
            return reader.Read() && Property(ref reader, "i"u8) == JsonTokenType.String ? reader.GetString()! : "";
        }
        catch (JsonException)
        {
            return "";
        }
    }

    private string Key(string application, string id) => $"gatehouse:ai:{{{_service}/{application}}}:{id}";

    // The response an output item's id belongs to (or '*'), for item_reference. The ':' keeps these apart from responses
    // and conversations, whose ids have none (Names).
    private string ItemKey(string application, string itemId) => $"gatehouse:ai:{{{_service}/{application}}}:item:{itemId}";

    // {"c":[ids],"i":input,"o":output,"r":response}: the three are JSON already and are written as they are.
    private static byte[] Encode(AiResponses.Entry entry)
    {
        var buffer = new ArrayBufferWriter<byte>((int)entry.Bytes + 256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("c");
            foreach (var id in entry.Chain)
            {
                json.WriteStringValue(id);
            }

            json.WriteEndArray();
            json.WritePropertyName("i");
            json.WriteRawValue(entry.Input.Span, skipInputValidation: true);
            json.WritePropertyName("o");
            json.WriteRawValue(entry.Output.Span, skipInputValidation: true);
            json.WritePropertyName("r");
            json.WriteRawValue(entry.Response.Span, skipInputValidation: true);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static AiResponses.Entry? Decode(string application, string id, byte[] value)
    {
        try
        {
            using var document = JsonDocument.Parse(value);
            var root = document.RootElement;
            var chain = root.GetProperty("c").EnumerateArray().Select(e => e.GetString() ?? "").ToArray();
            return new AiResponses.Entry(id, application, chain,
                Encoding.UTF8.GetBytes(root.GetProperty("i").GetRawText()),
                Encoding.UTF8.GetBytes(root.GetProperty("o").GetRawText()),
                Encoding.UTF8.GetBytes(root.GetProperty("r").GetRawText()));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null; // not one of ours: as if it were not there
        }
    }

    private async Task<T> Call<T>(string what, Func<Task<T>> call)
    {
        try
        {
            var result = await call().ConfigureAwait(false);
            Up();
            return result;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Failed(what, e);
            throw new ResponseStoreUnavailableException(e);
        }
    }

    private void Up()
    {
        if (Interlocked.Exchange(ref _down, 0) == 1)
        {
            LogUp(_log);
        }
    }

    private void Failed(string what, Exception e)
    {
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            LogDown(_log, what, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "AI responses: Redis did not answer ({What}: {Reason}); responses are not kept, and continuing one answers 503, until it does")]
    private static partial void LogDown(ILogger logger, string what, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "AI responses: Redis answers again")]
    private static partial void LogUp(ILogger logger);
}

/// <summary>The store of kept responses (Redis) did not answer.</summary>
internal sealed class ResponseStoreUnavailableException(Exception inner) : Exception("The store of kept responses did not answer.", inner);
