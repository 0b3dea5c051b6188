using System.Data.Common;

namespace Gatehouse.Management.Stores;

// Portal accounts' API tokens: plain rows beside the account (like its two-step secret), never read by nodes.
internal abstract partial class SqlConfigStore
{
    private const string PortalTokenColumns = "account, name, prefix, scope, created_at, expires_at, last_used_at";

    public async Task<PortalTokenAdded> AddPortalTokenAsync(PortalToken token, string tokenSha256, int maxPerAccount, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentException.ThrowIfNullOrEmpty(tokenSha256);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await using (var exists = Command(connection, transaction, "SELECT 1 FROM consumer_accounts WHERE id = @id", ("id", token.Account)))
        {
            if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                return PortalTokenAdded.NoAccount;
            }
        }

        var tokens = await ListPortalTokensAsync(connection, transaction, token.Account, cancellationToken).ConfigureAwait(false);
        if (tokens.Any(t => t.Name == token.Name))
        {
            return PortalTokenAdded.NameTaken;
        }

        if (tokens.Count >= maxPerAccount)
        {
            return PortalTokenAdded.TooMany;
        }

        // A NULL written as such: a parameter without a value is sent as text, which PostgreSQL will not put in a timestamp.
        var expires = token.ExpiresAt is null ? "NULL" : "@expires";
        await ExecuteAsync(
            connection,
            transaction,
            $"INSERT INTO portal_tokens (token_sha256, {PortalTokenColumns}) VALUES (@hash, @account, @name, @prefix, @scope, @at, {expires}, NULL)",
            cancellationToken,
            [
                ("hash", tokenSha256),
                ("account", token.Account),
                ("name", token.Name),
                ("prefix", token.Prefix),
                ("scope", token.Scope.ToString().ToLowerInvariant()),
                ("at", TimeValue(token.CreatedAt)),
                .. token.ExpiresAt is { } at ? [("expires", TimeValue(at))] : Array.Empty<(string, object?)>(),
            ]).ConfigureAwait(false);
        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, "token-create", "account", token.Account, null, PortalTokenBody(token), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return PortalTokenAdded.Added;
    }

    public async Task<IReadOnlyList<PortalToken>> ListPortalTokensAsync(string account, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ListPortalTokensAsync(connection, null, account, cancellationToken).ConfigureAwait(false);
    }

    private async Task<List<PortalToken>> ListPortalTokensAsync(DbConnection connection, DbTransaction? transaction, string account, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, $"SELECT {PortalTokenColumns} FROM portal_tokens WHERE account = @account ORDER BY name", ("account", account));
        return await ReadPortalTokensAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<PortalToken?> FindPortalTokenAsync(string tokenSha256, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, $"SELECT {PortalTokenColumns} FROM portal_tokens WHERE token_sha256 = @hash", ("hash", tokenSha256));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadPortalToken(reader) : null;
    }

    public async Task<bool> DeletePortalTokenAsync(string account, string name, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var before = (await ListPortalTokensAsync(connection, transaction, account, cancellationToken).ConfigureAwait(false)).FirstOrDefault(t => t.Name == name);
        if (before is null
            || await ExecuteAsync(connection, transaction, "DELETE FROM portal_tokens WHERE account = @account AND name = @name", cancellationToken, ("account", account), ("name", name)).ConfigureAwait(false) == 0)
        {
            return false;
        }

        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, "token-revoke", "account", account, PortalTokenBody(before), null, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<IReadOnlyDictionary<string, int>> CountPortalTokensAsync(IReadOnlyList<string> accounts, CancellationToken cancellationToken = default)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        if (accounts.Count == 0)
        {
            return result;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var names = accounts.Select((_, i) => "@a" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        await using var command = Command(connection, null, $"SELECT account, COUNT(*) FROM portal_tokens WHERE account IN ({string.Join(", ", names)}) GROUP BY account",
            [.. accounts.Select((account, i) => ("a" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), (object?)account))]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result[reader.GetString(0)] = (int)reader.GetInt64(1);
        }

        return result;
    }

    public async Task<IReadOnlyList<PortalToken>> ListPortalTokensExpiringAsync(DateTimeOffset after, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null,
            $"SELECT {PortalTokenColumns} FROM portal_tokens WHERE expires_at IS NOT NULL AND expires_at > @after AND expires_at <= @until ORDER BY account, name",
            ("after", TimeValue(after)), ("until", TimeValue(until)));
        return await ReadPortalTokensAsync(command, cancellationToken).ConfigureAwait(false);
    }

    // The tokens a query of PortalTokenColumns finds, in its order (rows that do not read as a token are skipped).
    private async Task<List<PortalToken>> ReadPortalTokensAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<PortalToken>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (ReadPortalToken(reader) is { } token)
            {
                result.Add(token);
            }
        }

        return result;
    }

    public async Task<bool> ClaimReminderAsync(string key, DateTimeOffset forgetAt, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "DELETE FROM reminders WHERE forget_at < @now", cancellationToken, ("now", TimeValue(now))).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "INSERT INTO reminders (key, forget_at) VALUES (@key, @forget) ON CONFLICT (key) DO NOTHING", cancellationToken,
            ("key", key), ("forget", TimeValue(forgetAt))).ConfigureAwait(false) == 1;
    }

    public async Task TouchPortalTokenAsync(string tokenSha256, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "UPDATE portal_tokens SET last_used_at = @at WHERE token_sha256 = @hash", cancellationToken, ("at", TimeValue(at)), ("hash", tokenSha256)).ConfigureAwait(false);
    }

    // What the change log keeps of a token: its name, prefix, scope and expiry (never the token or its hash).
    private static string PortalTokenBody(PortalToken token) => new System.Text.Json.Nodes.JsonObject
    {
        ["token"] = token.Name,
        ["prefix"] = token.Prefix,
        ["scope"] = token.Scope.ToString().ToLowerInvariant(),
        ["expiresAt"] = token.ExpiresAt?.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
    }.ToJsonString();

    // A scope this version does not know (written by a newer one) reads as no token: it grants nothing here.
    private PortalToken? ReadPortalToken(DbDataReader reader) =>
        Enum.TryParse<PortalTokenScope>(reader.GetString(3), ignoreCase: true, out var scope)
            ? new PortalToken(reader.GetString(0), reader.GetString(1), reader.GetString(2), scope, ReadTime(reader, 4),
                reader.IsDBNull(5) ? null : ReadTime(reader, 5), reader.IsDBNull(6) ? null : ReadTime(reader, 6))
            : null;
}
