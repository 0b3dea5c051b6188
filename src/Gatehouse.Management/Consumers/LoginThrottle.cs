using System.Collections.Concurrent;

namespace Gatehouse.Management.Consumers;

/// <summary>
/// Failed logins per account (email, known or not, so the answer says nothing about which exist) and per client
/// address, each in a sliding <see cref="Window"/>: after <see cref="PerAccount"/> failures for an account, or
/// <see cref="PerAddress"/> from one address, further attempts are refused before the password is checked, until the
/// oldest failure leaves the window. Kept in this process (each control-plane node counts its own); bounded by
/// sweeping entries whose failures have all left the window.
/// </summary>
internal sealed class LoginThrottle(TimeProvider time)
{
    public const int PerAccount = 10;
    public const int PerAddress = 100;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failures = new(StringComparer.Ordinal);
    private int _sinceSweep;

    /// <summary>When the caller may try again, or null when it may try now.</summary>
    public DateTimeOffset? RefusedUntil(string account, string address)
    {
        var now = time.GetUtcNow();
        return Full("a:" + account, PerAccount, now) ?? Full("i:" + address, PerAddress, now);
    }

    public void Failed(string account, string address)
    {
        var now = time.GetUtcNow();
        Add("a:" + account, now);
        Add("i:" + address, now);
        if (Interlocked.Increment(ref _sinceSweep) % 1000 == 0)
        {
            Sweep(now);
        }
    }

    /// <summary>A successful login clears the account's failures (not the address's).</summary>
    public void Succeeded(string account) => _failures.TryRemove("a:" + account, out _);

    private DateTimeOffset? Full(string key, int limit, DateTimeOffset now)
    {
        if (!_failures.TryGetValue(key, out var queue))
        {
            return null;
        }

        lock (queue)
        {
            while (queue.Count > 0 && queue.Peek() <= now - Window)
            {
                queue.Dequeue();
            }

            return queue.Count >= limit ? queue.Peek() + Window : null;
        }
    }

    private void Add(string key, DateTimeOffset now)
    {
        var queue = _failures.GetOrAdd(key, _ => new Queue<DateTimeOffset>());
        lock (queue)
        {
            queue.Enqueue(now);
            // More than the limit is never needed to decide, so a flood cannot grow one entry.
            while (queue.Count > PerAddress)
            {
                queue.Dequeue();
            }
        }
    }

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (key, queue) in _failures)
        {
            lock (queue)
            {
                if (queue.Count == 0 || queue.Last() <= now - Window)
                {
                    _failures.TryRemove(key, out _);
                }
            }
        }
    }
}
