using System.Threading.RateLimiting;

namespace Gatehouse.Management.Portal;

/// <summary>
/// The calls each signed-in account may send through try it (<see cref="TryItProxy"/>): a token bucket per account of
/// <c>portal.tryItPerMinute</c> calls, refilled one call at a time over the minute, so a person's bursts of clicks pass
/// and a loop is held to the rate. The framework's partitioned limiter keeps one bucket per account that called in the
/// last minute or so and drops a bucket once it is full and idle, so memory follows the accounts using try it, which each
/// had to sign up and in, never the requests.
/// </summary>
internal sealed class TryItLimits : IDisposable
{
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

    /// <summary>Null when <paramref name="account"/> may send one more call now; otherwise how long until it may.</summary>
    public TimeSpan? Refuse(string account, int perMinute)
    {
        using var lease = _limiter.AttemptAcquire((account, perMinute));
        return lease.IsAcquired ? null
            : lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero ? after
            : TimeSpan.FromMinutes(1) / perMinute;
    }

    public void Dispose() => _limiter.Dispose();
}
