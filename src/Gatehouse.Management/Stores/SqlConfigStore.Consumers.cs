using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Management.Consumers;
using Gatehouse.Model.Config;
using Gatehouse.Model.Consumers;

namespace Gatehouse.Management.Stores;

// Consumer data: plain rows plus an ordered change log. Writers hold the consumer write lock from reading the last
// sequence number to commit, so a reader that saw sequence N has seen every change up to N (no gaps filled later).
internal abstract partial class SqlConfigStore
{
    private const string AccountColumns = "id, email, title, password_hash, state, stamp, created_at, version";
    private const string ApplicationColumns =
        "a.id, a.account, a.title, a.description, a.plan, a.state, a.keys, a.created_at, a.seq, a.deleted, c.state, a.client_ids, a.allowed_addresses";

    /// <summary>The write lock of consumer changes; by default the store's one write lock.</summary>
    protected virtual Task<DbTransaction> BeginConsumerWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        BeginWriteAsync(connection, cancellationToken);

    public async Task<ConsumerAccount?> GetAccountAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAccountAsync(connection, null, $"SELECT {AccountColumns} FROM consumer_accounts WHERE id = @v", id, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ConsumerAccount?> FindAccountByEmailAsync(string email, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAccountAsync(connection, null, $"SELECT {AccountColumns} FROM consumer_accounts WHERE email = @v", email, cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<ConsumerAccount>> ListAccountsAsync(AccountState? state, string? after, int limit, CancellationToken cancellationToken = default) =>
        SearchAccountsAsync(new AccountSearch(state), after, limit, cancellationToken);

    public async Task<bool> InsertAccountAsync(ConsumerAccount account, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var taken = await ScalarAsync(connection, transaction, "SELECT 1 FROM consumer_accounts WHERE email = @email OR id = @id", cancellationToken,
            ("email", account.Email), ("id", account.Id)).ConfigureAwait(false);
        if (taken is not null)
        {
            return false;
        }

        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            connection,
            transaction,
            $"INSERT INTO consumer_accounts ({AccountColumns}) VALUES (@id, @email, @title, @hash, @state, @stamp, @created, @version)",
            cancellationToken,
            ("id", account.Id),
            ("email", account.Email),
            ("title", account.Title),
            ("hash", account.PasswordHash),
            ("state", Name(account.State)),
            ("stamp", account.Stamp),
            ("created", TimeValue(account.CreatedAt)),
            ("version", 1L)).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, "create", "account", account.Id, null, AuditBody(account), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> UpdateAccountAsync(ConsumerAccount account, string actor, string action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var before = await ReadAccountAsync(connection, transaction, $"SELECT {AccountColumns} FROM consumer_accounts WHERE id = @v", account.Id, cancellationToken).ConfigureAwait(false);
        if (before is null || before.Version != account.Version)
        {
            return false;
        }

        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            connection,
            transaction,
            "UPDATE consumer_accounts SET email = @email, title = @title, password_hash = @hash, state = @state, stamp = @stamp, version = @version WHERE id = @id",
            cancellationToken,
            ("id", account.Id),
            ("email", account.Email),
            ("title", account.Title),
            ("hash", account.PasswordHash),
            ("state", Name(account.State)),
            ("stamp", account.Stamp),
            ("version", account.Version + 1)).ConfigureAwait(false);
        if (before.State != account.State)
        {
            // The gateway enforces an account's suspension through its applications: announce them again.
            await ExecuteAsync(connection, transaction, "UPDATE consumer_applications SET seq = @seq WHERE account = @id", cancellationToken,
                ("seq", seq), ("id", account.Id)).ConfigureAwait(false);
        }

        await LogChangeAsync(connection, transaction, seq, actor, action, "account", account.Id, AuditBody(before), AuditBody(account), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<bool?> ChangeAccountEmailAsync(string id, string email, string stamp, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var before = await ReadAccountAsync(connection, transaction, $"SELECT {AccountColumns} FROM consumer_accounts WHERE id = @v", id, cancellationToken).ConfigureAwait(false);
        if (before is null)
        {
            return null;
        }

        if (await ScalarAsync(connection, transaction, "SELECT 1 FROM consumer_accounts WHERE email = @email AND id <> @id", cancellationToken,
                ("email", email), ("id", id)).ConfigureAwait(false) is not null)
        {
            return false;
        }

        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "UPDATE consumer_accounts SET email = @email, stamp = @stamp, version = version + 1 WHERE id = @id", cancellationToken,
            ("email", email), ("stamp", stamp), ("id", id)).ConfigureAwait(false);
        // Links made for the old address (a reset, a confirmation) no longer reach whoever now holds the account.
        await ExecuteAsync(connection, transaction, "DELETE FROM consumer_tokens WHERE account = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, "email", "account", id, AuditBody(before), AuditBody(before with { Email = email }), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> DeleteAccountAsync(string id, string actor, CancellationToken cancellationToken = default, AccountState? onlyIf = null)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var account = await ReadAccountAsync(connection, transaction, $"SELECT {AccountColumns} FROM consumer_accounts WHERE id = @v", id, cancellationToken).ConfigureAwait(false);
        var live = ToLong(await ScalarAsync(connection, transaction, "SELECT COUNT(*) FROM consumer_applications WHERE account = @id AND deleted = 0",
            cancellationToken, ("id", id)).ConfigureAwait(false));
        if (account is null || live > 0 || (onlyIf is { } state && account.State != state))
        {
            return false;
        }

        // Every address the account has had (a change of address leaves the earlier ones in the log's entries and actors).
        var addresses = new HashSet<string>(StringComparer.Ordinal) { account.Email };
        await using (var earlier = Command(connection, transaction, "SELECT before, after FROM consumer_changes WHERE kind = 'account' AND name = @id", ("id", id)))
        await using (var reader = await earlier.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var body in (ReadOnlySpan<string?>)[NullableString(reader, 0), NullableString(reader, 1)])
                {
                    if (body is not null && JsonNode.Parse(body)?["email"]?.GetValue<string>() is { Length: > 0 } email)
                    {
                        addresses.Add(email);
                    }
                }
            }
        }

        await ExecuteAsync(connection, transaction, "DELETE FROM consumer_accounts WHERE id = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
        // What the account was (address, name) and what its applications were called leave the change log and the
        // deleted applications' rows; the entries stay, with who did what when (the account's own doings under its id,
        // not its address), and the rows with what nodes need. Its links and counted sign-ins go too.
        await ExecuteAsync(connection, transaction,
            "UPDATE consumer_changes SET before = NULL, after = NULL WHERE (kind = 'account' AND name = @id) OR (kind = 'application' AND name IN (SELECT a.id FROM consumer_applications a WHERE a.account = @id))",
            cancellationToken, ("id", id)).ConfigureAwait(false);
        var self = "portal:" + account.Email;
        var pseudonym = "portal:" + id;
        foreach (var address in addresses)
        {
            await ExecuteAsync(connection, transaction, "UPDATE consumer_changes SET actor = @pseudonym WHERE actor = @self", cancellationToken, ("pseudonym", pseudonym), ("self", "portal:" + address)).ConfigureAwait(false);
            // Its changes through an API token ("portal:ADDRESS token NAME") keep the token's name, under the pseudonym.
            var byToken = "portal:" + address + " token ";
            await ExecuteAsync(connection, transaction, "UPDATE consumer_changes SET actor = @pseudonym || substr(actor, @rest) WHERE substr(actor, 1, @length) = @byToken", cancellationToken,
                ("pseudonym", pseudonym), ("rest", ("portal:" + address).Length + 1), ("length", byToken.Length), ("byToken", byToken)).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "DELETE FROM login_attempts WHERE key = @key", cancellationToken, ("key", "a:" + address)).ConfigureAwait(false);
        }

        await ExecuteAsync(connection, transaction, "UPDATE consumer_applications SET title = '', title_key = '', description = '' WHERE account = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "DELETE FROM consumer_tokens WHERE account = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "DELETE FROM account_two_step WHERE account = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "DELETE FROM sso_links WHERE owner = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "DELETE FROM portal_tokens WHERE account = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor == self ? pseudonym : actor, "delete", "account", id, null, null, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<IReadOnlyList<string>> ListStaleUnverifiedAsync(DateTimeOffset signedUpBefore, DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
    {
        CheckLimit(limit);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null,
            "SELECT a.id FROM consumer_accounts a WHERE a.state = @state AND a.created_at < @before AND NOT EXISTS (SELECT 1 FROM consumer_tokens t WHERE t.account = a.id AND t.expires_at > @now) ORDER BY a.id LIMIT @limit",
            ("state", Name(AccountState.Unverified)), ("before", TimeValue(signedUpBefore)), ("now", TimeValue(now)), ("limit", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var ids = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    public async Task<PortalApplication?> GetApplicationAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var found = await ReadApplicationsAsync(connection, null, "a.id = @id AND a.deleted = 0", cancellationToken, ("id", id)).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<PortalApplication>> ListApplicationsAsync(
        string? account, ApplicationState? state, string? after, int limit, CancellationToken cancellationToken = default) =>
        SearchApplicationsAsync(new ApplicationSearch(Account: account, State: state), after, limit, cancellationToken);

    public async Task<long?> SaveApplicationAsync(PortalApplication application, long expectedSeq, string actor, string action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(application);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var existing = await ReadApplicationsAsync(connection, transaction, "a.id = @id", cancellationToken, ("id", application.Id)).ConfigureAwait(false);
        var before = existing.Count == 0 ? null : existing[0];
        if (expectedSeq == 0 ? before is not null : before is null || before.Seq != expectedSeq || before.Deleted)
        {
            return null;
        }

        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<string> clientIds = application.Deleted ? [] : application.ClientIds ?? [];
        (string, object?)[] values =
        [
            ("id", application.Id),
            ("account", application.Account),
            ("title", application.Title),
            ("titleKey", ApplicationSearch.Fold(application.Title)),
            ("description", application.Description),
            ("plan", application.Plan),
            ("state", Name(application.State)),
            ("keys", JsonSerializer.Serialize(application.Keys, JsonSerializerOptions.Web)),
            ("created", TimeValue(application.CreatedAt)),
            ("seq", seq),
            ("deleted", application.Deleted ? 1 : 0),
            ("clientIds", JsonSerializer.Serialize(clientIds)),
            ("addresses", JsonSerializer.Serialize(application.AllowedAddresses ?? [])),
        ];
        var sql = before is null
            ? "INSERT INTO consumer_applications (id, account, title, title_key, description, plan, state, keys, created_at, seq, deleted, client_ids, allowed_addresses) VALUES (@id, @account, @title, @titleKey, @description, @plan, @state, @keys, @created, @seq, @deleted, @clientIds, @addresses)"
            : "UPDATE consumer_applications SET account = @account, title = @title, title_key = @titleKey, description = @description, plan = @plan, state = @state, keys = @keys, seq = @seq, deleted = @deleted, client_ids = @clientIds, allowed_addresses = @addresses WHERE id = @id";
        await ExecuteAsync(connection, transaction, sql, cancellationToken, values).ConfigureAwait(false);
        if (!clientIds.SequenceEqual(before?.ClientIds ?? [], StringComparer.Ordinal))
        {
            // Most saves (keys, plan, state) leave them as they were: nothing to write then.
            await SaveClientIdsAsync(connection, transaction, application.Id, clientIds, cancellationToken).ConfigureAwait(false);
        }
        await LogChangeAsync(connection, transaction, seq, actor, action, "application", application.Id,
            before is null ? null : AuditBody(before), application.Deleted ? null : AuditBody(application), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return seq;
    }

    // The application's client ids in portal_client_ids, in its save's transaction (under the consumer write lock, so the
    // check and the writes are one step): one held by another application throws, and nothing of the save is kept.
    private static async Task SaveClientIdsAsync(DbConnection connection, DbTransaction transaction, string application, IReadOnlyList<string> clientIds, CancellationToken cancellationToken)
    {
        foreach (var clientId in clientIds)
        {
            if (await ScalarAsync(connection, transaction, "SELECT application FROM portal_client_ids WHERE client_id = @clientId AND application <> @application", cancellationToken,
                    ("clientId", clientId), ("application", application)).ConfigureAwait(false) is string other)
            {
                throw new ClientIdTakenException(clientId, other);
            }
        }

        await ExecuteAsync(connection, transaction, "DELETE FROM portal_client_ids WHERE application = @application", cancellationToken, ("application", application)).ConfigureAwait(false);
        foreach (var clientId in clientIds)
        {
            await ExecuteAsync(connection, transaction, "INSERT INTO portal_client_ids (client_id, application) VALUES (@clientId, @application)", cancellationToken,
                ("clientId", clientId), ("application", application)).ConfigureAwait(false);
        }
    }

    public async Task<(IReadOnlyList<PortalApplication> Applications, long Seq)> ReadApplicationsSinceAsync(long afterSeq, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // The newest number first: rows written after it (a later change of the same row included) are read next time.
        var newest = ToLong(await ScalarAsync(connection, null, "SELECT COALESCE(MAX(seq), 0) FROM consumer_changes", cancellationToken).ConfigureAwait(false));
        if (newest <= afterSeq)
        {
            return ([], afterSeq);
        }

        var changed = await ReadApplicationsAsync(connection, null, "a.seq > @after AND a.seq <= @newest ORDER BY a.seq", cancellationToken,
            ("after", afterSeq), ("newest", newest)).ConfigureAwait(false);
        return (changed, newest);
    }

    public async Task<long> NewestConsumerSeqAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return ToLong(await ScalarAsync(connection, null, "SELECT COALESCE(MAX(seq), 0) FROM consumer_changes", cancellationToken).ConfigureAwait(false));
    }

    public async Task<(long Accounts, long Applications)> CountConsumersAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var accounts = ToLong(await ScalarAsync(connection, null, "SELECT COUNT(*) FROM consumer_accounts", cancellationToken).ConfigureAwait(false));
        var applications = ToLong(await ScalarAsync(connection, null, "SELECT COUNT(*) FROM consumer_applications WHERE deleted = 0", cancellationToken).ConfigureAwait(false));
        return (accounts, applications);
    }

    public async Task<IReadOnlyList<ConsumerChange>> ListConsumerChangesAsync(long? beforeSeq, int limit, CancellationToken cancellationToken = default)
    {
        CheckLimit(limit);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(
            connection,
            null,
            "SELECT seq, at, actor, action, kind, name, before, after FROM consumer_changes WHERE seq < @before ORDER BY seq DESC LIMIT @limit",
            ("before", beforeSeq ?? long.MaxValue),
            ("limit", limit));
        return await ReadChangesAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ConsumerChange>> ListConsumerChangesOfAsync(string kind, string name, int limit, CancellationToken cancellationToken = default)
    {
        CheckLimit(limit);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(
            connection,
            null,
            "SELECT seq, at, actor, action, kind, name, before, after FROM consumer_changes WHERE kind = @kind AND name = @name ORDER BY seq DESC LIMIT @limit",
            ("kind", kind),
            ("name", name),
            ("limit", limit));
        return await ReadChangesAsync(command, cancellationToken).ConfigureAwait(false);
    }

    // The rows of "SELECT seq, at, actor, action, kind, name, before, after".
    private async Task<IReadOnlyList<ConsumerChange>> ReadChangesAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<ConsumerChange>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new ConsumerChange(reader.GetInt64(0), ReadTime(reader, 1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), NullableString(reader, 6), NullableString(reader, 7)));
        }

        return result;
    }

    public async Task SaveTokenAsync(string hash, string purpose, string account, DateTimeOffset expiresAt, CancellationToken cancellationToken = default, string? detail = null)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "INSERT INTO consumer_tokens (hash, purpose, account, expires_at, detail) VALUES (@hash, @purpose, @account, @expires, @detail)",
            cancellationToken, ("hash", hash), ("purpose", purpose), ("account", account), ("expires", TimeValue(expiresAt)), ("detail", detail)).ConfigureAwait(false);
    }

    public async Task<string?> PeekTokenAsync(string hash, string purpose, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT account, expires_at, purpose FROM consumer_tokens WHERE hash = @hash", ("hash", hash));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && ReadTime(reader, 1) > now && reader.GetString(2) == purpose ? reader.GetString(0) : null;
    }

    public async Task<string?> TakeTokenAsync(string hash, string purpose, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        (await TakeTokenWithDetailAsync(hash, purpose, now, cancellationToken).ConfigureAwait(false))?.Account;

    public async Task<(string Account, string? Detail)?> TakeTokenWithDetailAsync(string hash, string purpose, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, transaction, "SELECT account, expires_at, purpose, detail FROM consumer_tokens WHERE hash = @hash", ("hash", hash));
        (string, string?)? account = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && ReadTime(reader, 1) > now && reader.GetString(2) == purpose)
            {
                account = (reader.GetString(0), NullableString(reader, 3));
            }
        }

        // Used or not, a presented token is spent, and expired ones go with it.
        await ExecuteAsync(connection, transaction, "DELETE FROM consumer_tokens WHERE hash = @hash OR expires_at <= @now", cancellationToken,
            ("hash", hash), ("now", TimeValue(now))).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return account;
    }

    public async Task<AdminUser?> GetAdminUserAsync(string email, CancellationToken cancellationToken = default)
    {
        var all = await AdminUsersAsync("WHERE email = @email", email, cancellationToken).ConfigureAwait(false);
        return all.Count == 0 ? null : all[0];
    }

    public Task<IReadOnlyList<AdminUser>> ListAdminUsersAsync(CancellationToken cancellationToken = default) =>
        AdminUsersAsync("ORDER BY email", "", cancellationToken);

    public async Task UpsertAdminUserAsync(AdminUser user, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var before = (await AdminUsersAsync(connection, transaction, "WHERE email = @email", user.Email, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        await ExecuteAsync(
            connection,
            transaction,
            """
            INSERT INTO admin_users (email, password_hash, role, created_at) VALUES (@email, @hash, @role, @created)
            ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role
            """,
            cancellationToken,
            ("email", user.Email),
            ("hash", user.PasswordHash),
            ("role", user.Role == AdminRole.Admin ? "admin" : "viewer"),
            ("created", TimeValue(user.CreatedAt))).ConfigureAwait(false);
        // Who was given the console, and by whom: in the change log beside the consumers' (no hashes, only whether the
        // password changed).
        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, before is null ? "create" : "update", "console-user", user.Email,
            before is null ? null : AuditBody(before, passwordChanged: false), AuditBody(user, passwordChanged: before is not null && before.PasswordHash != user.PasswordHash),
            cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> ChangeAdminUserPasswordAsync(string email, string oldHash, string newHash, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var before = (await AdminUsersAsync(connection, transaction, "WHERE email = @email", email, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        if (before is null || before.PasswordHash != oldHash)
        {
            return false;
        }

        await ExecuteAsync(connection, transaction, "UPDATE admin_users SET password_hash = @hash WHERE email = @email", cancellationToken,
            ("hash", newHash), ("email", email)).ConfigureAwait(false);
        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, "update", "console-user", email, AuditBody(before, passwordChanged: false),
            AuditBody(before with { PasswordHash = newHash }, passwordChanged: true), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> EndAdminUserSessionsAsync(string email, string actor, string action, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var before = (await AdminUsersAsync(connection, transaction, "WHERE email = @email", email, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        if (before is null)
        {
            return false;
        }

        await ExecuteAsync(connection, transaction, "UPDATE admin_users SET sessions_ended = sessions_ended + 1 WHERE email = @email", cancellationToken, ("email", email)).ConfigureAwait(false);
        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, action, "console-user", email, AuditBody(before, passwordChanged: false),
            AuditBody(before, passwordChanged: false), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> DeleteAdminUserAsync(string email, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var before = (await AdminUsersAsync(connection, transaction, "WHERE email = @email", email, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        if (before is null)
        {
            return false;
        }

        await ExecuteAsync(connection, transaction, "DELETE FROM admin_users WHERE email = @email", cancellationToken, ("email", email)).ConfigureAwait(false);
        // A user made again later with this address (someone else, perhaps) is not bound to the old one's identity.
        await ExecuteAsync(connection, transaction, "DELETE FROM sso_links WHERE owner = @owner", cancellationToken, ("owner", "console-user:" + email)).ConfigureAwait(false);
        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, "delete", "console-user", email, AuditBody(before, passwordChanged: false), null, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> SetAdminUserTwoStepAsync(string email, string? expectedPasswordHash, string? totpSecret, IReadOnlyList<string>? recoveryCodes, string actor,
        CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var before = (await AdminUsersAsync(connection, transaction, "WHERE email = @email", email, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        if (before is null || (expectedPasswordHash is not null && before.PasswordHash != expectedPasswordHash))
        {
            return false;
        }

        await ExecuteAsync(connection, transaction, "UPDATE admin_users SET totp_secret = @secret, totp_step = 0, recovery_codes = @codes WHERE email = @email", cancellationToken,
            ("secret", totpSecret), ("codes", recoveryCodes is null ? null : string.Join(' ', recoveryCodes)), ("email", email)).ConfigureAwait(false);
        var after = before with { TotpSecret = totpSecret, RecoveryCodes = recoveryCodes };
        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, "update", "console-user", email, AuditBody(before, passwordChanged: false),
            AuditBody(after, passwordChanged: false), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public Task<bool> TakeAdminUserCodeAsync(string email, string totpSecret, long? step, string? recoveryCode, CancellationToken cancellationToken = default) =>
        TakeCodeAsync("admin_users", "email", email, totpSecret, step, recoveryCode, "console:" + email, "console-user", cancellationToken);

    public async Task<AccountTwoStep?> GetAccountTwoStepAsync(string accountId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return (await ReadTwoStepAsync(connection, null, "account_two_step", "account", accountId, cancellationToken).ConfigureAwait(false)) is var (secret, step, codes) && secret is not null
            ? new AccountTwoStep(secret, step, codes ?? [])
            : null;
    }

    public async Task<bool> SetAccountTwoStepAsync(string accountId, long? expectedVersion, string? totpSecret, IReadOnlyList<string>? recoveryCodes, string stamp, string actor,
        string action, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var before = await ReadAccountAsync(connection, transaction, $"SELECT {AccountColumns} FROM consumer_accounts WHERE id = @v", accountId, cancellationToken).ConfigureAwait(false);
        if (before is null || (expectedVersion is { } version && before.Version != version))
        {
            return false;
        }

        var (_, _, codesBefore) = await ReadTwoStepAsync(connection, transaction, "account_two_step", "account", accountId, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "DELETE FROM account_two_step WHERE account = @id", cancellationToken, ("id", accountId)).ConfigureAwait(false);
        if (totpSecret is not null)
        {
            await ExecuteAsync(connection, transaction, "INSERT INTO account_two_step (account, totp_secret, totp_step, recovery_codes) VALUES (@id, @secret, 0, @codes)", cancellationToken,
                ("id", accountId), ("secret", totpSecret), ("codes", string.Join(' ', recoveryCodes ?? []))).ConfigureAwait(false);
        }

        await ExecuteAsync(connection, transaction, "UPDATE consumer_accounts SET stamp = @stamp, version = @version WHERE id = @id", cancellationToken,
            ("stamp", stamp), ("version", before.Version + 1), ("id", accountId)).ConfigureAwait(false);
        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, action, "account", accountId, TwoStepBody(codesBefore), TwoStepBody(totpSecret is null ? null : recoveryCodes ?? []),
            cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<IReadOnlySet<string>> AccountsWithTwoStepAsync(IReadOnlyList<string> accountIds, CancellationToken cancellationToken = default)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        if (accountIds.Count == 0)
        {
            return result;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var names = accountIds.Select((_, i) => "@a" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        await using var command = Command(connection, null, $"SELECT account FROM account_two_step WHERE account IN ({string.Join(", ", names)})",
            [.. accountIds.Select((id, i) => ("a" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), (object?)id))]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(reader.GetString(0));
        }

        return result;
    }

    public async Task<SsoLinkOutcome> LinkSsoAsync(string owner, string issuer, string subject, string actor, string kind, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        string? linkedIssuer = null, linkedSubject = null, otherOwner = null;
        await using (var command = Command(connection, transaction, "SELECT issuer, subject FROM sso_links WHERE owner = @owner", ("owner", owner)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                (linkedIssuer, linkedSubject) = (reader.GetString(0), reader.GetString(1));
            }
        }

        if (linkedIssuer is not null)
        {
            return linkedIssuer == issuer && linkedSubject == subject ? SsoLinkOutcome.Same : SsoLinkOutcome.OwnerLinkedElsewhere;
        }

        await using (var command = Command(connection, transaction, "SELECT owner FROM sso_links WHERE kind = @kind AND issuer = @issuer AND subject = @subject",
            ("kind", kind), ("issuer", issuer), ("subject", subject)))
        {
            otherOwner = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }

        if (otherOwner is not null)
        {
            return SsoLinkOutcome.IdentityLinkedElsewhere;
        }

        await ExecuteAsync(connection, transaction, "INSERT INTO sso_links (owner, kind, issuer, subject) VALUES (@owner, @kind, @issuer, @subject)", cancellationToken,
            ("owner", owner), ("kind", kind), ("issuer", issuer), ("subject", subject)).ConfigureAwait(false);
        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, "sso-link", kind, owner, null, SsoBody(issuer, subject), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return SsoLinkOutcome.Linked;
    }

    public async Task<string?> FindSsoOwnerAsync(string kind, string issuer, string subject, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT owner FROM sso_links WHERE kind = @kind AND issuer = @issuer AND subject = @subject",
            ("kind", kind), ("issuer", issuer), ("subject", subject));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public async Task<IReadOnlySet<string>> OwnersWithSsoAsync(IReadOnlyList<string> owners, CancellationToken cancellationToken = default)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        if (owners.Count == 0)
        {
            return result;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var names = owners.Select((_, i) => "@o" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        await using var command = Command(connection, null, $"SELECT owner FROM sso_links WHERE owner IN ({string.Join(", ", names)})",
            [.. owners.Select((owner, i) => ("o" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), (object?)owner))]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(reader.GetString(0));
        }

        return result;
    }

    public async Task<bool> UnlinkSsoAsync(string owner, string actor, string kind, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        string? issuer = null, subject = null;
        await using (var command = Command(connection, transaction, "SELECT issuer, subject FROM sso_links WHERE owner = @owner", ("owner", owner)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                (issuer, subject) = (reader.GetString(0), reader.GetString(1));
            }
        }

        if (issuer is null)
        {
            return false;
        }

        await ExecuteAsync(connection, transaction, "DELETE FROM sso_links WHERE owner = @owner", cancellationToken, ("owner", owner)).ConfigureAwait(false);
        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, "sso-unlink", kind, owner, SsoBody(issuer, subject!), null, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    private static string SsoBody(string issuer, string subject) =>
        new System.Text.Json.Nodes.JsonObject { ["issuer"] = issuer, ["subject"] = subject }.ToJsonString();

    public Task<bool> TakeAccountCodeAsync(string accountId, string totpSecret, long? step, string? recoveryCode, string actor, CancellationToken cancellationToken = default) =>
        TakeCodeAsync("account_two_step", "account", accountId, totpSecret, step, recoveryCode, actor, "account", cancellationToken);

    // A second-step code of a console user or a portal account (table and key column: admin_users by email, or
    // account_two_step by account): an authenticator's step later than the last one taken, or an unused recovery code.
    private async Task<bool> TakeCodeAsync(string table, string keyColumn, string key, string totpSecret, long? step, string? recoveryCode, string actor, string kind,
        CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (step is { } s)
        {
            // One statement: of two sign-ins with the same code at once, one moves the step and the other finds it moved.
            return await ExecuteAsync(connection, null, $"UPDATE {table} SET totp_step = @step WHERE {keyColumn} = @key AND totp_secret = @secret AND totp_step < @step",
                cancellationToken, ("step", s), ("key", key), ("secret", totpSecret)).ConfigureAwait(false) == 1;
        }

        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var (secret, _, codes) = await ReadTwoStepAsync(connection, transaction, table, keyColumn, key, cancellationToken).ConfigureAwait(false);
        if (secret != totpSecret || recoveryCode is null || codes?.Contains(recoveryCode) != true)
        {
            return false;
        }

        var left = codes.Where(c => c != recoveryCode).ToList();
        await ExecuteAsync(connection, transaction, $"UPDATE {table} SET recovery_codes = @codes WHERE {keyColumn} = @key", cancellationToken,
            ("codes", string.Join(' ', left)), ("key", key)).ConfigureAwait(false);
        // A recovery code used is worth knowing about (the phone may be lost, or the codes found by someone else).
        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, "recovery-code", kind, key, TwoStepBody(codes), TwoStepBody(left), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    private static async Task<(string? Secret, long Step, IReadOnlyList<string>? Codes)> ReadTwoStepAsync(DbConnection connection, DbTransaction? transaction, string table, string keyColumn,
        string key, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, $"SELECT totp_secret, totp_step, recovery_codes FROM {table} WHERE {keyColumn} = @key", ("key", key));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && !reader.IsDBNull(0)
            ? (reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? [] : reader.GetString(2).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            : (null, 0, null);
    }

    // What the log keeps of a two-step change: whether it is on and how many recovery codes are left, never a secret or a code.
    private static string? TwoStepBody(IReadOnlyList<string>? codes) =>
        codes is null ? new JsonObject { ["twoStep"] = false }.ToJsonString() : new JsonObject { ["twoStep"] = true, ["recoveryCodesLeft"] = codes.Count }.ToJsonString();

    private static string AuditBody(AdminUser user, bool passwordChanged)
    {
        var body = new JsonObject { ["email"] = user.Email, ["role"] = user.Role == AdminRole.Admin ? "admin" : "viewer" };
        if (passwordChanged)
        {
            body["passwordChanged"] = true;
        }

        // Whether two-step sign-in is on, and how many recovery codes are left: never the secret or a code.
        if (user.TwoStep)
        {
            body["twoStep"] = true;
            body["recoveryCodesLeft"] = user.RecoveryCodes?.Count ?? 0;
        }

        return body.ToJsonString();
    }

    private async Task<IReadOnlyList<AdminUser>> AdminUsersAsync(string where, string email, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await AdminUsersAsync(connection, null, where, email, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<AdminUser>> AdminUsersAsync(DbConnection connection, DbTransaction? transaction, string where, string email, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction,
            $"SELECT email, password_hash, role, created_at, totp_secret, totp_step, recovery_codes, sessions_ended FROM admin_users {where}", ("email", email));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<AdminUser>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new AdminUser(reader.GetString(0), reader.GetString(1), reader.GetString(2) == "admin" ? AdminRole.Admin : AdminRole.Viewer, ReadTime(reader, 3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt64(5),
                reader.IsDBNull(6) ? null : reader.GetString(6).Split(' ', StringSplitOptions.RemoveEmptyEntries), reader.GetInt64(7)));
        }

        return result;
    }

    private static async Task<long> NextSeqAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        ToLong(await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(seq), 0) + 1 FROM consumer_changes", cancellationToken).ConfigureAwait(false));

    public async Task SetLoggedSettingAsync(string key, string value, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var before = (string?)await ScalarAsync(connection, transaction, "SELECT value FROM settings WHERE key = @key", cancellationToken, ("key", key)).ConfigureAwait(false);
        if (before == value)
        {
            return;
        }

        await ExecuteAsync(connection, transaction, "INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value", cancellationToken,
            ("key", key), ("value", value)).ConfigureAwait(false);
        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, "set", "setting", key,
            before is null ? null : new JsonObject { ["value"] = before }.ToJsonString(), new JsonObject { ["value"] = value }.ToJsonString(), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Called in the transaction of each consumer change, after its row in the change log; PostgreSQL notifies.</summary>
    protected virtual Task ConsumerChangingAsync(DbConnection connection, DbTransaction transaction, long seq, CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task LogChangeAsync(DbConnection connection, DbTransaction transaction, long seq, string actor, string action, string kind, string name,
        string? before, string? after, CancellationToken cancellationToken)
    {
        await ExecuteAsync(
            connection,
            transaction,
            "INSERT INTO consumer_changes (seq, at, actor, action, kind, name, before, after) VALUES (@seq, @at, @actor, @action, @kind, @name, @before, @after)",
            cancellationToken,
            ("seq", seq),
            ("at", TimeValue(_clock.GetUtcNow())),
            ("actor", actor),
            ("action", action),
            ("kind", kind),
            ("name", name),
            ("before", before),
            ("after", after)).ConfigureAwait(false);
        await ConsumerChangingAsync(connection, transaction, seq, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ConsumerAccount?> ReadAccountAsync(DbConnection connection, DbTransaction? transaction, string sql, string value, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql, ("v", value));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Account(reader) : null;
    }

    private ConsumerAccount Account(DbDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetString(2),
        NullableString(reader, 3),
        Enum.Parse<AccountState>(reader.GetString(4), ignoreCase: true),
        reader.GetString(5),
        ReadTime(reader, 6),
        reader.GetInt64(7));

    private async Task<List<PortalApplication>> ReadApplicationsAsync(
        DbConnection connection, DbTransaction? transaction, string where, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction,
            $"SELECT {ApplicationColumns} FROM consumer_applications a LEFT JOIN consumer_accounts c ON c.id = a.account WHERE {where}", parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<PortalApplication>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new PortalApplication(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                reader.GetString(4),
                Enum.Parse<ApplicationState>(reader.GetString(5), ignoreCase: true),
                JsonSerializer.Deserialize<List<ConsumerKey>>(reader.GetString(6), JsonSerializerOptions.Web) ?? [],
                ReadTime(reader, 7),
                reader.GetInt64(8),
                reader.GetInt32(9) != 0,
                // An application whose account is gone is as good as suspended.
                reader.IsDBNull(10) ? AccountState.Suspended : Enum.Parse<AccountState>(reader.GetString(10), ignoreCase: true),
                JsonSerializer.Deserialize<List<string>>(reader.GetString(11)) is { Count: > 0 } clientIds ? clientIds : null,
                JsonSerializer.Deserialize<List<string>>(reader.GetString(12)) is { Count: > 0 } addresses ? addresses : null));
        }

        return result;
    }

    private static string Name<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();

    // What the change log keeps of an account: never its password hash or session stamp.
    private static string AuditBody(ConsumerAccount account) =>
        new JsonObject { ["email"] = account.Email, ["title"] = account.Title, ["state"] = Name(account.State) }.ToJsonString();

    private static string AuditBody(PortalApplication application)
    {
        var body = new JsonObject
        {
            ["account"] = application.Account,
            ["title"] = application.Title,
            ["description"] = application.Description,
            ["plan"] = application.Plan,
            ["state"] = Name(application.State),
            ["keys"] = JsonSerializer.SerializeToNode(application.Keys, JsonSerializerOptions.Web),
        };
        if (application.ClientIds is { Count: > 0 } clientIds)
        {
            body["clientIds"] = new JsonArray([.. clientIds.Select(c => (JsonNode)c)]);
        }

        if (application.AllowedAddresses is { Count: > 0 } addresses)
        {
            body["allowedAddresses"] = new JsonArray([.. addresses.Select(a => (JsonNode)a)]);
        }

        return body.ToJsonString();
    }
}

/// <summary>A portal application was to get an OAuth client id that another one holds: nothing of the change was kept.</summary>
public sealed class ClientIdTakenException(string clientId, string application)
    : Exception($"Client id '{clientId}' belongs to application {application}.")
{
    public string ClientId { get; } = clientId;

    public string Application { get; } = application;
}
