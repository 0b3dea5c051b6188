namespace Gatehouse.Management.Consumers;

/// <summary>
/// Sign-in attempts per account (email, known or not, so the answer says nothing about which exist) and per client
/// address, each in a sliding <see cref="Window"/>: with <see cref="PerAccount"/> attempts for an account, or
/// <see cref="PerAddress"/> from one address, in the window, further attempts are refused before the password is
/// checked, until the oldest leaves the window. Kept in this process (each control-plane node counts its own); bounded by
/// sweeping keys whose attempts have all left the window.
/// </summary>
/// <remarks>
/// An attempt is counted when it begins (<see cref="TryBegin"/>), under one lock with the check, not when its password
/// has been found wrong: a password check takes about 100 ms and up to 256 wait for a worker (<see cref="PasswordWork"/>),
/// so counting failures afterwards let a burst of concurrent guesses all pass a check that none of them had failed yet
/// (257 guesses in a minute where 10 were allowed). A right password clears the account's attempts and gives the
/// address its attempt back; an attempt whose password was never checked (the workers were busy) gives both back.
/// </remarks>
internal sealed class LoginThrottle(TimeProvider time)
{
    public const int PerAccount = 10;
    public const int PerAddress = 100;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    // Each key's attempt times, oldest first; at most its limit are ever held (more are refused).
    private readonly Dictionary<string, List<DateTimeOffset>> _attempts = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _sinceSweep;

    /// <summary>
    /// Counts an attempt for <paramref name="account"/> and <paramref name="address"/> and returns null, or, when either
    /// has its limit of attempts in the window, counts nothing and returns when the caller may try again.
    /// </summary>
    public DateTimeOffset? TryBegin(string account, string address, out LoginAttempt attempt)
    {
        var now = time.GetUtcNow();
        attempt = new LoginAttempt("a:" + account, "i:" + address, now);
        lock (_lock)
        {
            var byAccount = Recent(attempt.AccountKey, now);
            var byAddress = Recent(attempt.AddressKey, now);
            if (byAccount.Count >= PerAccount)
            {
                return byAccount[0] + Window;
            }

            if (byAddress.Count >= PerAddress)
            {
                return byAddress[0] + Window;
            }

            byAccount.Add(now);
            byAddress.Add(now);
            if (++_sinceSweep % 1000 == 0)
            {
                Sweep(now);
            }

            return null;
        }
    }

    /// <summary>The password was right: the account's attempts are cleared, and the address's attempt is given back.</summary>
    public void Succeeded(in LoginAttempt attempt)
    {
        lock (_lock)
        {
            _attempts.Remove(attempt.AccountKey);
            GiveBack(attempt.AddressKey, attempt.At);
        }
    }

    /// <summary>The password was never checked (no worker was free): the attempt counts for neither.</summary>
    public void NotChecked(in LoginAttempt attempt)
    {
        lock (_lock)
        {
            GiveBack(attempt.AccountKey, attempt.At);
            GiveBack(attempt.AddressKey, attempt.At);
        }
    }

    private List<DateTimeOffset> Recent(string key, DateTimeOffset now)
    {
        if (!_attempts.TryGetValue(key, out var times))
        {
            _attempts[key] = times = [];
        }

        var old = 0;
        while (old < times.Count && times[old] <= now - Window)
        {
            old++;
        }

        times.RemoveRange(0, old);
        return times;
    }

    private void GiveBack(string key, DateTimeOffset at)
    {
        if (_attempts.TryGetValue(key, out var times) && times.LastIndexOf(at) is var i and >= 0)
        {
            times.RemoveAt(i);
        }
    }

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (key, times) in _attempts)
        {
            if (times.Count == 0 || times[^1] <= now - Window)
            {
                _attempts.Remove(key);
            }
        }
    }
}

/// <summary>One counted sign-in attempt (<see cref="LoginThrottle.TryBegin"/>), to report how it ended.</summary>
internal readonly record struct LoginAttempt(string AccountKey, string AddressKey, DateTimeOffset At);
