using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Consumers;

/// <summary>
/// Sign-in attempts per account (email, known or not, so the answer says nothing about which exist) and per client
/// address, each in a sliding <see cref="Window"/>: with <see cref="PerAccount"/> attempts for an account, or
/// <see cref="PerAddress"/> from one address, in the window, further attempts are refused before the password is
/// checked, until the oldest leaves the window. Counted in the store (<see cref="IConsumerStore.TryCountLoginAttemptAsync"/>),
/// so every control-plane node of one store counts the same attempts.
/// </summary>
/// <remarks>
/// An attempt is counted when it begins (<see cref="TryBeginAsync"/>), in one transaction with the check, not when its
/// password has been found wrong: a password check takes about 100 ms and up to 256 wait for a worker
/// (<see cref="PasswordWork"/>), so counting failures afterwards let a burst of concurrent guesses all pass a check that
/// none of them had failed yet (40 guesses at once were 40 checks where 10 a minute are allowed). A right password clears
/// the account's attempts and gives the address its attempt back; an attempt whose password was never checked (the
/// workers were busy, or the client went away) gives both back.
/// </remarks>
internal sealed class LoginThrottle(IConsumerStore store, TimeProvider time)
{
    public const int PerAccount = 10;
    public const int PerAddress = 100;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Counts an attempt for <paramref name="account"/> and <paramref name="address"/>; or, when either has its limit of
    /// attempts in the window, counts nothing and returns when the caller may try again.
    /// </summary>
    public async Task<(DateTimeOffset? RetryAt, LoginAttempt Attempt)> TryBeginAsync(string account, string address, CancellationToken cancellationToken)
    {
        var accountKey = "a:" + account;
        var (ids, retryAt) = await store.TryCountLoginAttemptAsync([(accountKey, PerAccount), ("i:" + address, PerAddress)], time.GetUtcNow(), Window, cancellationToken)
            .ConfigureAwait(false);
        return (retryAt, ids is null ? default : new LoginAttempt(accountKey, ids[0], ids[1]));
    }

    /// <summary>The password was right: the account's attempts are cleared, and the address's attempt is given back.</summary>
    public Task SucceededAsync(LoginAttempt attempt) =>
        store.ForgetLoginAttemptsAsync(attempt.AccountKey, [attempt.AddressRow], CancellationToken.None);

    /// <summary>
    /// A second-step code for <paramref name="account"/>, counted as a sign-in attempt: <see cref="CodeOutcome.Throttled"/>
    /// (not tried) when the account or address has its limit, else whether <paramref name="take"/> took it (a taken code
    /// clears the account's attempts, as a right password does).
    /// </summary>
    public async Task<CodeOutcome> TryCodeAsync(string account, string address, Func<Task<bool>> take, CancellationToken cancellationToken)
    {
        var (refused, attempt) = await TryBeginAsync(account, address, cancellationToken).ConfigureAwait(false);
        if (refused is not null)
        {
            return CodeOutcome.Throttled;
        }

        if (!await take().ConfigureAwait(false))
        {
            return CodeOutcome.Wrong;
        }

        await SucceededAsync(attempt).ConfigureAwait(false);
        return CodeOutcome.Taken;
    }

    /// <summary>The password was never checked: the attempt counts for neither.</summary>
    public Task NotCheckedAsync(LoginAttempt attempt) =>
        store.ForgetLoginAttemptsAsync(null, [attempt.AccountRow, attempt.AddressRow], CancellationToken.None);
}

/// <summary>How a second-step code went (<see cref="LoginThrottle.TryCodeAsync"/>).</summary>
internal enum CodeOutcome
{
    /// <summary>Right, and now spent.</summary>
    Taken,
    /// <summary>Not right, or used already.</summary>
    Wrong,
    /// <summary>Not tried: too many attempts for the account or the address in the window.</summary>
    Throttled,
}

/// <summary>One counted sign-in attempt (<see cref="LoginThrottle.TryBeginAsync"/>): its rows, to report how it ended.</summary>
internal readonly record struct LoginAttempt(string AccountKey, long AccountRow, long AddressRow);
