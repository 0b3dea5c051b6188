using System.Data.Common;

namespace Gatehouse.Management.Stores;

// Sign-in attempts of the portal and the console, and the portal's mails per recipient, in the store so that every
// control-plane node counts the same ones (LoginThrottle, PortalMail). Each attempt is a row (key, time and expiry in Unix
// milliseconds, the expiry being the time plus its key's window); rows past their expiry are deleted by the next attempt. Checking and counting are one transaction, under a lock of the attempt's keys, so that attempts made
// at once on several nodes cannot all pass a check that none of them has counted in yet.
internal abstract partial class SqlConfigStore
{
    /// <summary>The lock of login attempts of <paramref name="keys"/>; by default the store's one write lock.</summary>
    protected virtual Task<DbTransaction> BeginLoginWriteAsync(DbConnection connection, IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        BeginWriteAsync(connection, cancellationToken);

    public async Task<(IReadOnlyList<long>? Ids, DateTimeOffset? RetryAt)> TryCountLoginAttemptAsync(
        IReadOnlyList<(string Key, int Limit)> keys, DateTimeOffset at, TimeSpan window, CancellationToken cancellationToken = default)
    {
        var now = at.ToUnixTimeMilliseconds();
        var since = now - (long)window.TotalMilliseconds;
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginLoginWriteAsync(connection, [.. keys.Select(k => k.Key)], cancellationToken).ConfigureAwait(false);
        foreach (var (key, limit) in keys)
        {
            // Under the key's lock: no other transaction deletes these rows meanwhile.
            await ExecuteAsync(connection, transaction, "DELETE FROM login_attempts WHERE key = @key AND at_ms <= @since", cancellationToken, ("key", key), ("since", since)).ConfigureAwait(false);
            await using var command = Command(connection, transaction, "SELECT COUNT(*), MIN(at_ms) FROM login_attempts WHERE key = @key AND at_ms > @since", ("key", key), ("since", since));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (reader.GetInt64(0) >= limit)
            {
                var oldest = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1));
                await reader.DisposeAsync().ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return (null, oldest + window);
            }
        }

        var ids = new List<long>(keys.Count);
        foreach (var (key, _) in keys)
        {
            ids.Add(ToLong(await ScalarAsync(connection, transaction, "INSERT INTO login_attempts (key, at_ms, expires_ms) VALUES (@key, @at, @expires) RETURNING id", cancellationToken,
                ("key", key), ("at", now), ("expires", now + (long)window.TotalMilliseconds)).ConfigureAwait(false)));
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);

        // The rows of keys nobody tried again (a typed address, a client gone), so that no address or IP is kept long past
        // their window: outside the keys' locks, and best effort (should two such deletes conflict, the next one deletes
        // what this one did not). By each row's own expiry, since keys have windows of their own (a minute for sign-in, an
        // hour for mail). Through the index on expires_ms, usually a look that finds nothing.
        try
        {
            await ExecuteAsync(connection, null, "DELETE FROM login_attempts WHERE expires_ms <= @now", cancellationToken, ("now", now)).ConfigureAwait(false);
        }
        catch (DbException)
        {
        }

        return (ids, null);
    }

    public async Task ForgetLoginAttemptsAsync(string? key, IReadOnlyList<long> ids, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginLoginWriteAsync(connection, key is null ? [] : [key], cancellationToken).ConfigureAwait(false);
        if (key is not null)
        {
            await ExecuteAsync(connection, transaction, "DELETE FROM login_attempts WHERE key = @key", cancellationToken, ("key", key)).ConfigureAwait(false);
        }

        foreach (var id in ids)
        {
            await ExecuteAsync(connection, transaction, "DELETE FROM login_attempts WHERE id = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
