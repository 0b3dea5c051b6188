using System.Threading.RateLimiting;
using Gatehouse.Model.Limits;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Portal;

/// <summary>
/// The calls each signed-in account may send through try it (<see cref="TryItProxy"/>): a token bucket per account of
/// <c>portal.tryItPerMinute</c> calls, refilled one call at a time over the minute, so a person's bursts of clicks pass
/// and a loop is held to the rate. The framework's partitioned limiter keeps one bucket per account that called in the
/// last minute or so and drops a bucket once it is full and idle, so memory follows the accounts using try it, which each
/// had to sign up and in, never the requests.
/// <para>
/// A bucket is this process's. When the store is a counter engine (PostgreSQL, the store several control nodes share),
/// a call the bucket admits is also counted there, in the account's calendar minute, one atomic reserve per call: so
/// behind a load balancer the account gets <c>tryItPerMinute</c> a minute across every control node, not that many
/// per node. Try it is a person clicking (each call already costs a round trip to the gateway), so a store round trip
/// per call is no cost worth a lease scheme such as the gateway's cluster limits. An engine that fails leaves each
/// process to its own bucket (logged once per outage), so a store outage never stops try it. A minute's counter may be
/// forgotten a minute after it ends, and the store deletes it itself (its writes start a sweep), with or without gateways.
/// </para>
/// </summary>
internal sealed partial class TryItLimits(ILimitEngine? engine, TimeProvider time, ILogger<TryItLimits> logger) : IDisposable
{
    // Gateway limits' engine keys are "limit name|application id": an account id (acc-…) is never an application's.
    private const string EnginePrefix = "portal.tryIt|";

    // Keyed by the rate too: a changed setting takes effect at the account's next call, in a fresh bucket (the old one
    // is dropped once idle).
    private readonly PartitionedRateLimiter<(string Account, int PerMinute)> _limiter = PartitionedRateLimiter.Create<(string Account, int PerMinute), (string, int)>(key =>
        RateLimitPartition.GetTokenBucketLimiter(key, k => new TokenBucketRateLimiterOptions
        {
            TokenLimit = k.PerMinute,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1) / k.PerMinute,
            QueueLimit = 0,
            // The partitioned limiter's own timer refills every bucket: no timer per account.
            AutoReplenishment = false,
        }));

    private int _engineDown;

    /// <summary>Null when <paramref name="account"/> may send one more call now; otherwise how long until it may.</summary>
    public async ValueTask<TimeSpan?> RefuseAsync(string account, int perMinute, CancellationToken cancellationToken)
    {
        using (var lease = _limiter.AttemptAcquire((account, perMinute)))
        {
            if (!lease.IsAcquired)
            {
                return lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero ? after : TimeSpan.FromMinutes(1) / perMinute;
            }
        }

        if (engine is null)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var window = (uint)(now.ToUnixTimeSeconds() / 60);
        var ends = DateTimeOffset.FromUnixTimeSeconds((window + 1L) * 60);
        try
        {
            // Never grants past perMinute, whichever node asks: the cluster admits at most that many in the minute.
            var grant = await engine.ReserveAsync(EnginePrefix + account, window, 1, perMinute, ends.AddMinutes(1), cancellationToken).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _engineDown, 0) == 1)
            {
                LogEngineBack(logger, engine.Name);
            }

            return grant.Granted > 0 ? null : ends - now;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (Interlocked.Exchange(ref _engineDown, 1) == 0)
            {
                LogEngineDown(logger, engine.Name, e.Message);
            }

            return null;
        }
    }

    public void Dispose() => _limiter.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Try it could not count a call in the {Engine} store ({Reason}): each control node holds accounts to tryItPerMinute by itself until it can")]
    private static partial void LogEngineDown(ILogger logger, string engine, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Try it counts calls in the {Engine} store again, across control nodes")]
    private static partial void LogEngineBack(ILogger logger, string engine);
}
