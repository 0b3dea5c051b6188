namespace Gatehouse.Management.Stores;

// The audit trail, settings, nodes and registrations: plain rows, outside the revision scheme.
internal abstract partial class SqlConfigStore
{
    public async Task<IReadOnlyList<AuditEntry>> ListAuditAsync(long? beforeId = null, int limit = 50, CancellationToken cancellationToken = default)
    {
        CheckLimit(limit);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(
            connection,
            null,
            "SELECT id, at, actor, action, kind, name, revision, before, after FROM audit WHERE id < @before ORDER BY id DESC LIMIT @limit",
            ("before", beforeId ?? long.MaxValue),
            ("limit", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<AuditEntry>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new AuditEntry(
                reader.GetInt64(0),
                ReadTime(reader, 1),
                reader.GetString(2),
                reader.GetString(3),
                reader.GetString(4),
                reader.GetString(5),
                reader.GetInt64(6),
                NullableString(reader, 7),
                NullableString(reader, 8)));
        }

        return result;
    }

    public async Task<string?> GetSettingAsync(string key, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return (string?)await ScalarAsync(connection, null, "SELECT value FROM settings WHERE key = @key", cancellationToken, ("key", key))
            .ConfigureAwait(false);
    }

    public async Task SetSettingAsync(string key, string value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            connection,
            null,
            "INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            cancellationToken,
            ("key", key),
            ("value", value)).ConfigureAwait(false);
    }

    public async Task UpsertNodeAsync(string id, long revision, string info, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(info);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            connection,
            null,
            """
            INSERT INTO nodes (id, revision, last_seen, info) VALUES (@id, @revision, @seen, @info)
            ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, last_seen = excluded.last_seen, info = excluded.info
            """,
            cancellationToken,
            ("id", id),
            ("revision", revision),
            ("seen", TimeValue(_clock.GetUtcNow())),
            ("info", info)).ConfigureAwait(false);
    }

    public async Task<NodeInfo?> ClaimNodeAsync(string id, string instance, long revision, string info, DateTimeOffset liveSince, DateTimeOffset? takeOverSeenAtOrBefore = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(instance);
        ArgumentNullException.ThrowIfNull(info);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // One statement, so the check and the write are one step on both databases (ON CONFLICT's row lock; SQLite's one
        // writer). A row written without an instance (before migration 27) is anyone's. The clash note belongs to the
        // holder it was written about: it goes when the id changes hands.
        var written = await ExecuteAsync(
            connection,
            null,
            """
            INSERT INTO nodes (id, revision, last_seen, info, instance) VALUES (@id, @revision, @seen, @info, @instance)
            ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, last_seen = excluded.last_seen, info = excluded.info,
                clash = CASE WHEN nodes.instance = excluded.instance THEN nodes.clash ELSE NULL END, instance = excluded.instance
            WHERE nodes.instance IS NULL OR nodes.instance = excluded.instance OR nodes.last_seen < @live OR nodes.last_seen <= @takeover
            """,
            cancellationToken,
            ("id", id),
            ("revision", revision),
            ("seen", TimeValue(_clock.GetUtcNow())),
            ("info", info),
            ("instance", instance),
            ("live", TimeValue(liveSince)),
            // No take-over: a time no row was seen at.
            ("takeover", TimeValue(takeOverSeenAtOrBefore ?? DateTimeOffset.UnixEpoch))).ConfigureAwait(false);
        if (written > 0)
        {
            return null;
        }

        var holder = await ReadNodesAsync(connection, "WHERE id = @id", cancellationToken, ("id", id)).ConfigureAwait(false);
        // Gone between the two statements (deleted as stale): the next report claims it.
        return holder.Count > 0 ? holder[0] : null;
    }

    public async Task MarkNodeClashAsync(string id, string clash, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(clash);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "UPDATE nodes SET clash = @clash WHERE id = @id", cancellationToken, ("id", id), ("clash", clash)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<NodeInfo>> ListNodesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var result = await ReadNodesAsync(connection, "", cancellationToken).ConfigureAwait(false);
        result.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return result;
    }

    private async Task<List<NodeInfo>> ReadNodesAsync(System.Data.Common.DbConnection connection, string where, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, null, $"SELECT id, revision, last_seen, info, instance, clash FROM nodes {where}", parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<NodeInfo>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new NodeInfo(reader.GetString(0), reader.GetInt64(1), ReadTime(reader, 2), reader.GetString(3), NullableString(reader, 4), NullableString(reader, 5)));
        }

        return result;
    }

    public async Task<bool> DeleteNodeAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "DELETE FROM nodes WHERE id = @id", cancellationToken, ("id", id)).ConfigureAwait(false) > 0;
    }

    public async Task<int> DeleteNodesSeenBeforeAsync(DateTimeOffset before, CancellationToken cancellationToken = default)
    {
        // SQLite keeps the time as fixed-width UTC text, which sorts as the times do; PostgreSQL as timestamptz.
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "DELETE FROM nodes WHERE last_seen < @before", cancellationToken, ("before", TimeValue(before))).ConfigureAwait(false);
    }

    public Task UpsertRegistrationAsync(string service, string url, string owner, DateTimeOffset expiresAt, CancellationToken cancellationToken = default) =>
        UpsertRegistrationsAsync([new Registration(service, url, owner, expiresAt)], cancellationToken);

    public async Task UpsertRegistrationsAsync(IReadOnlyList<Registration> registrations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registrations);
        if (registrations.Count == 0)
        {
            return;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(
            connection,
            transaction,
            """
            INSERT INTO registrations (service, url, owner, expires_at) VALUES (@service, @url, @owner, @expires)
            ON CONFLICT (service, url) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
            """,
            ("service", ""),
            ("url", ""),
            ("owner", ""),
            ("expires", TimeValue(DateTimeOffset.UnixEpoch)));
        foreach (var registration in registrations)
        {
            ArgumentException.ThrowIfNullOrEmpty(registration.Service);
            ArgumentException.ThrowIfNullOrEmpty(registration.Url);
            ArgumentNullException.ThrowIfNull(registration.Owner);
            command.Parameters["@service"].Value = registration.Service;
            command.Parameters["@url"].Value = registration.Url;
            command.Parameters["@owner"].Value = registration.Owner;
            command.Parameters["@expires"].Value = TimeValue(registration.ExpiresAt);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<Registration>> ListRegistrationsAsync(DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(
            connection, null, "SELECT service, url, owner, expires_at FROM registrations WHERE expires_at > @at", ("at", TimeValue(at)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<Registration>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new Registration(reader.GetString(0), reader.GetString(1), reader.GetString(2), ReadTime(reader, 3)));
        }

        result.Sort((a, b) =>
        {
            var byService = string.CompareOrdinal(a.Service, b.Service);
            return byService != 0 ? byService : string.CompareOrdinal(a.Url, b.Url);
        });
        return result;
    }

    public async Task<bool> DeleteRegistrationAsync(string service, string url, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(
            connection, null, "DELETE FROM registrations WHERE service = @service AND url = @url", cancellationToken, ("service", service), ("url", url))
            .ConfigureAwait(false) > 0;
    }

    public async Task<int> DeleteExpiredRegistrationsAsync(DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "DELETE FROM registrations WHERE expires_at <= @at", cancellationToken, ("at", TimeValue(at)))
            .ConfigureAwait(false);
    }
}
