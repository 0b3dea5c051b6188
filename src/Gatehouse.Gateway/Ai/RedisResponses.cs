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
/// whatever its length: the previous response, then every earlier one at once.
/// </summary>
internal sealed partial class RedisResponses : AiResponses.ResponseStore, IDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly ILogger _log;
    private readonly string _service;
    private int _down;

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
            await _redis.GetDatabase().StringSetAsync(Key(entry.Application, entry.Id), Encode(entry), config.Ttl).ConfigureAwait(false);
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
        var value = await Call("read", () => _redis.GetDatabase().StringGetAsync(Key(application, id))).ConfigureAwait(false);
        return value.IsNull ? null : Decode(application, id, value!);
    }

    public override async ValueTask<bool> DeleteAsync(string application, string id) =>
        await Call("delete", () => _redis.GetDatabase().KeyDeleteAsync(Key(application, id))).ConfigureAwait(false);

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

    public void Dispose() => _redis.Dispose();

    private string Key(string application, string id) => $"gatehouse:ai:{{{_service}/{application}}}:{id}";

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
