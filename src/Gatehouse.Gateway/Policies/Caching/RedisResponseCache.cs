using System.Security.Cryptography;
using System.Text;
using Gatehouse.Gateway.Limiting.Cluster;
using Gatehouse.Gateway.Observability;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Gatehouse.Gateway.Policies.Caching;

/// <summary>
/// Cached responses in Redis (<c>gateway.cache.redis</c>), shared by every node. An entry's Redis key is the SHA-256
/// of the full cache key (route, route fingerprint, path, host, query, headers, application or plan) under the
/// route's <em>epochs</em>: a counter per route and one per (route, path). A purge increments one of them, so every
/// node's next lookup reads a key that holds nothing, without a SCAN; the orphaned entries expire on their own. All of
/// a route's keys share one hash tag, so the scripts stay on one slot of a Redis Cluster.
/// Redis unreachable or slow: a lookup is a miss and a write is dropped, each counted
/// (<c>gatehouse.cache.store.errors</c>); the outage is logged once, and its end once.
/// </summary>
internal sealed partial class RedisResponseCache : IDisposable
{
    private const string Prefix = "gatehouse:cache:";

    // KEYS[1] the route's epoch, KEYS[2] the path's; ARGV[1] the entry key's prefix, ARGV[2] its hash.
    private const string GetScript = """
        local r = redis.call('GET', KEYS[1]) or '0'
        local p = redis.call('GET', KEYS[2]) or '0'
        return redis.call('GET', ARGV[1] .. r .. ':' .. p .. ':' .. ARGV[2])
        """;

    // As above; ARGV[3] the payload, ARGV[4] its lifetime in milliseconds.
    private const string SetScript = """
        local r = redis.call('GET', KEYS[1]) or '0'
        local p = redis.call('GET', KEYS[2]) or '0'
        redis.call('SET', ARGV[1] .. r .. ':' .. p .. ':' .. ARGV[2], ARGV[3], 'PX', ARGV[4])
        return 1
        """;

    private static readonly TimeSpan PurgeConnectWait = TimeSpan.FromSeconds(5);

    private readonly ConnectionMultiplexer _redis;
    private readonly ILogger _log;
    private readonly TimeSpan _timeout;
    private int _down;

    public RedisResponseCache(string configuration, TimeSpan timeout, ILogger log)
    {
        _log = log;
        _timeout = timeout;
        var options = RedisLimitEngine.Options(configuration);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast; // a request must not wait for a Redis that is down
        var ms = (int)Math.Max(timeout.TotalMilliseconds, 50);
        options.ConnectTimeout = Math.Max(ms, 1000);
        options.AsyncTimeout = ms;
        options.SyncTimeout = Math.Max(ms, 1000);
        options.ConnectRetry = 1;
        options.ClientName = "gatehouse-cache";
        _redis = ConnectionMultiplexer.Connect(options);
    }

    /// <summary>The entry under <paramref name="key"/>; null when there is none, or Redis did not answer.</summary>
    public async ValueTask<CachedResponse?> GetAsync(string key)
    {
        var (keys, args) = Keys(key);
        try
        {
            var result = await _redis.GetDatabase().ScriptEvaluateAsync(GetScript, keys, args).ConfigureAwait(false);
            Up();
            return result.IsNull ? null : CachedResponseCodec.Decode((byte[])result!);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Failed("get", e);
            return null;
        }
    }

    /// <summary>Writes the entry without waiting for Redis (the response is not held for it).</summary>
    public void Set(string key, CachedResponse response, TimeSpan lifetime)
    {
        var (keys, args) = Keys(key);
        try
        {
            _redis.GetDatabase().ScriptEvaluateAsync(SetScript, keys,
                [args[0], args[1], CachedResponseCodec.Encode(response), (long)Math.Ceiling(lifetime.TotalMilliseconds)]).ContinueWith(
                    (t, state) => ((RedisResponseCache)state!).Failed("set", t.Exception!.GetBaseException()),
                    this, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Failed("set", e);
        }
    }

    /// <summary>Moves the route's epoch (or its path's) on: every node's next lookup misses. Throws when Redis is down.</summary>
    public async Task PurgeAsync(string route, string? path, CancellationToken cancellationToken = default)
    {
        try
        {
            await IncrementAsync(path is null ? RouteEpoch(route) : PathEpoch(route, path), PurgeConnectWait, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Failed("purge", e);
            throw new CacheStoreDownException("The shared cache (Redis) did not take the purge: nothing was purged. Check that Redis is up and send the purge again.", e);
        }
    }

    /// <summary>
    /// An unsafe request's invalidation (<see cref="CacheInvalidation"/>): the path's epoch moves on, as for a purge. It
    /// waits for a first connection no longer than a lookup would, and a failure is counted and logged, never thrown: the
    /// service has already made the change, and its answer goes to the client either way.
    /// </summary>
    public async Task InvalidateAsync(string route, string path)
    {
        try
        {
            await IncrementAsync(PathEpoch(route, path), _timeout, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Failed("invalidate", e);
        }
    }

    private async Task IncrementAsync(RedisKey epoch, TimeSpan connectWait, CancellationToken cancellationToken)
    {
        // Commands fail at once while the connection is not up (BacklogPolicy.FailFast: a request never waits for
        // Redis), which is right for a lookup and wrong for a purge a person sent just after start, while the first
        // connection is still being made (a loaded machine took more than the 1 s connect timeout): the purge waits
        // for it, up to connectWait, unless an outage is already known. StackExchange.Redis has no call that waits
        // for a connection, so this polls; asynchronously, so no thread is held meanwhile.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!_redis.IsConnected && Volatile.Read(ref _down) == 0 && waited.Elapsed < connectWait)
        {
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        await _redis.GetDatabase().StringIncrementAsync(epoch).ConfigureAwait(false);
    }

    public void Dispose() => _redis.Dispose();

    private static (RedisKey[] Keys, RedisValue[] Args) Keys(string key)
    {
        var route = CacheKeys.PartOf(key, 0) ?? "";
        var path = CacheKeys.PartOf(key, 2) ?? "";
        return ([RouteEpoch(route), PathEpoch(route, path)], [Tag(route) + ":", Hash(key)]);
    }

    private static string Tag(string route) => Prefix + "{" + Hash(route)[..16] + "}";

    private static RedisKey RouteEpoch(string route) => Tag(route) + ":epoch";

    private static RedisKey PathEpoch(string route, string path) => Tag(route) + ":epoch:" + Hash(path)[..32];

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    private void Up()
    {
        if (Volatile.Read(ref _down) == 1 && Interlocked.Exchange(ref _down, 0) == 1)
        {
            LogBack(_log);
        }
    }

    private void Failed(string operation, Exception e)
    {
        GatewayMetrics.CacheStoreError(operation);
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            LogDown(_log, operation, e.GetType().Name, e.Message);
        }
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "The shared response cache (Redis) failed a {Operation} ({Error}: {Reason}); requests are forwarded as misses until it answers again. Logged once per outage.")]
    private static partial void LogDown(ILogger logger, string operation, string error, string reason);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Information, Message = "The shared response cache (Redis) answers again.")]
    private static partial void LogBack(ILogger logger);
}

/// <summary>The shared cache store could not carry out an operation an operator asked for (a purge).</summary>
internal sealed class CacheStoreDownException(string message, Exception inner) : InvalidOperationException(message, inner);
