using System.Threading.RateLimiting;

namespace Gatehouse.Management.Consumers;

/// <summary>
/// A bulkhead around password hashing. One PBKDF2 hash or check (<c>PasswordHasher</c>'s 100,000 rounds of
/// HMAC-SHA512) takes about 100 ms of CPU on a 2-vCPU machine, so a burst of sign-ups and sign-ins on the threads that
/// also forward the gateway's traffic would take every core from it. At most <see cref="Workers"/> hashes run at once
/// (half the cores, at least one); up to <see cref="QueueLimit"/> more wait their turn, oldest first, and the rest are
/// refused at once ("busy, try again") rather than piled up without bound. <see cref="ConcurrencyLimiter"/> (the
/// framework's System.Threading.RateLimiting) is the mechanism; this class only names the policy.
/// </summary>
internal sealed class PasswordWork : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;

    public PasswordWork(int? workers = null, int queueLimit = 256)
    {
        Workers = workers ?? Math.Max(1, Environment.ProcessorCount / 2);
        QueueLimit = queueLimit;
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = Workers,
            QueueLimit = queueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>Hashes or checks run at once.</summary>
    public int Workers { get; }

    /// <summary>Hashes or checks that may wait for a worker; beyond them, work is refused.</summary>
    public int QueueLimit { get; }

    /// <summary>Hashes or checks running now.</summary>
    public long Running => Workers - (_limiter.GetStatistics()?.CurrentAvailablePermits ?? Workers);

    /// <summary>Runs <paramref name="work"/> when a worker is free; false (nothing run) when too many are waiting.</summary>
    public async Task<(bool Done, T Result)> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        using var lease = await _limiter.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            return (false, default!);
        }

        // On the thread pool, never on the caller's thread: after a PostgreSQL store's answer the caller may be on a socket
        // event-loop thread (inline completions, Program.cs), and 100 ms of hashing there would hold up every gateway
        // connection that loop serves.
        return (true, await Task.Run(work, CancellationToken.None).ConfigureAwait(false));
    }

    public void Dispose() => _limiter.Dispose();
}
