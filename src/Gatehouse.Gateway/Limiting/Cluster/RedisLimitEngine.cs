using System.Globalization;
using Gatehouse.Model.Limits;
using StackExchange.Redis;

namespace Gatehouse.Gateway.Limiting.Cluster;

/// <summary>
/// Redis as the counter engine of limits across nodes (<c>gateway.limits.redis</c>, docs/limits.md), on StackExchange.Redis.
/// A lease is one Lua script on one key (read, grant what fits, increment: atomic on the server, and valid on a Redis
/// Cluster since it touches a single key); adding counts is one pipelined batch of INCRBY. Commands are never queued
/// while Redis is unreachable (<see cref="BacklogPolicy.FailFast"/>): a node must learn at once that the engine is down,
/// so that its limits fall back instead of requests waiting.
/// </summary>
internal sealed class RedisLimitEngine : ILimitEngine, IAsyncDisposable
{
    private const string Prefix = "gatehouse:limit:";
    private const string NodesKey = "gatehouse:limit-nodes";

    // KEYS[1] counter; ARGV want, limit, expiry (Unix ms). Grants min(want, limit - used), never below 0.
    private const string ReserveScript = """
        local used = tonumber(redis.call('GET', KEYS[1]) or '0')
        local grant = tonumber(ARGV[2]) - used
        local want = tonumber(ARGV[1])
        if grant > want then grant = want end
        if grant < 0 then grant = 0 end
        if grant > 0 then used = redis.call('INCRBY', KEYS[1], grant) end
        redis.call('PEXPIREAT', KEYS[1], ARGV[3])
        return {grant, used}
        """;

    private readonly ConnectionMultiplexer _redis;

    private RedisLimitEngine(ConnectionMultiplexer redis) => _redis = redis;

    public string Name => "redis";

    /// <summary>
    /// Connects to <paramref name="configuration"/> (a <c>redis://</c> URL or a StackExchange.Redis configuration string).
    /// A Redis that is down at start does not fail it: the multiplexer keeps reconnecting and limits fall back meanwhile.
    /// </summary>
    public static async Task<RedisLimitEngine> ConnectAsync(string configuration, TimeSpan timeout)
    {
        var options = Options(configuration);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ConnectTimeout = (int)Math.Max(timeout.TotalMilliseconds, 100);
        options.AsyncTimeout = (int)Math.Max(timeout.TotalMilliseconds, 100);
        options.ConnectRetry = 1;
        options.ClientName = "gatehouse";
        return new RedisLimitEngine(await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false));
    }

    /// <summary>Reads <c>redis://[user][:password@]host[:port][/db]</c> (<c>rediss://</c> for TLS), or else a StackExchange.Redis configuration string.</summary>
    public static ConfigurationOptions Options(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss"))
        {
            return ConfigurationOptions.Parse(value);
        }

        var options = new ConfigurationOptions { Ssl = uri.Scheme == "rediss" };
        options.EndPoints.Add(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port);
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            options.User = user.Length > 0 && colon >= 0 ? user : null;
            options.Password = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[(colon + 1)..]);
        }

        if (int.TryParse(uri.AbsolutePath.Trim('/'), NumberStyles.None, CultureInfo.InvariantCulture, out var db))
        {
            options.DefaultDatabase = db;
        }

        return options;
    }

    public async Task<LeaseGrant> ReserveAsync(string key, uint window, long want, long limit, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        var result = (RedisResult[])(await _redis.GetDatabase().ScriptEvaluateAsync(
            ReserveScript,
            [Key(key, window)],
            [want, limit, expires.ToUnixTimeMilliseconds()]).WaitAsync(cancellationToken).ConfigureAwait(false))!;
        return new LeaseGrant((long)result[0], (long)result[1]);
    }

    public async Task<long[]> AddAsync(IReadOnlyList<CounterDelta> deltas, CancellationToken cancellationToken)
    {
        var batch = _redis.GetDatabase().CreateBatch();
        var totals = new Task<long>[deltas.Count];
        var expiries = new Task<bool>[deltas.Count];
        for (var i = 0; i < deltas.Count; i++)
        {
            var key = Key(deltas[i].Key, deltas[i].Window);
            totals[i] = batch.StringIncrementAsync(key, deltas[i].Delta);
            expiries[i] = batch.KeyExpireAsync(key, deltas[i].Expires.UtcDateTime);
        }

        batch.Execute();
        await Task.WhenAll(totals).WaitAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(expiries).WaitAsync(cancellationToken).ConfigureAwait(false);
        return [.. totals.Select(t => t.Result)];
    }

    public async Task<int> HeartbeatAsync(string node, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var batch = _redis.GetDatabase().CreateBatch();
        var ms = now.ToUnixTimeMilliseconds();
        var added = batch.SortedSetAddAsync(NodesKey, node, ms);
        var forgotten = batch.SortedSetRemoveRangeByScoreAsync(NodesKey, double.NegativeInfinity, ms - (long)TimeSpan.FromDays(1).TotalMilliseconds);
        var seen = batch.SortedSetLengthAsync(NodesKey, ms - 10_000, double.PositiveInfinity);
        batch.Execute();
        await Task.WhenAll(added, forgotten, seen).WaitAsync(cancellationToken).ConfigureAwait(false);
        return (int)seen.Result;
    }

    public ValueTask DisposeAsync() => _redis.DisposeAsync();

    private static RedisKey Key(string key, uint window) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{key}:{window}");
}
