namespace Gatehouse.Management.Stores;

// Named admin API tokens: plain rows outside the revision scheme, like node tokens.
internal abstract partial class SqlConfigStore
{
    public async Task SetAdminTokenAsync(string name, string tokenSha256, AdminTokenScope scope, DateTimeOffset? expiresAt, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(tokenSha256);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var before = await AdminTokenAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false);
        // A NULL written as such: a parameter without a value is sent as text, which PostgreSQL will not put in a timestamp.
        var expires = expiresAt is null ? "NULL" : "@expires";
        await ExecuteAsync(
            connection,
            transaction,
            $"""
            INSERT INTO admin_tokens (name, token_sha256, scope, created_at, expires_at) VALUES (@name, @hash, @scope, @at, {expires})
            ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256, scope = excluded.scope, created_at = excluded.created_at, expires_at = excluded.expires_at
            """,
            cancellationToken,
            [
                ("name", name),
                ("hash", tokenSha256),
                ("scope", scope.ToString().ToLowerInvariant()),
                ("at", TimeValue(_clock.GetUtcNow())),
                .. expiresAt is { } at ? [("expires", TimeValue(at))] : Array.Empty<(string, object?)>(),
            ]).ConfigureAwait(false);
        // Who was given the admin API, and by whom, in the change log beside the console users (never the token).
        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, before is null ? "create" : "replace", "admin-token", name,
            before is null ? null : AuditBody(before), AuditBody(new AdminApiToken(name, scope, _clock.GetUtcNow(), expiresAt)), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<AdminApiToken?> AdminTokenAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string name, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "SELECT name, scope, created_at, expires_at FROM admin_tokens WHERE name = @name", ("name", name));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadAdminToken(reader) : null;
    }

    private static string AuditBody(AdminApiToken token) => new System.Text.Json.Nodes.JsonObject
    {
        ["name"] = token.Name,
        ["scope"] = token.Scope.ToString().ToLowerInvariant(),
        ["expiresAt"] = token.ExpiresAt?.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
    }.ToJsonString();

    public async Task<AdminApiToken?> FindAdminTokenAsync(string tokenSha256, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT name, scope, created_at, expires_at FROM admin_tokens WHERE token_sha256 = @hash", ("hash", tokenSha256));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadAdminToken(reader) : null;
    }

    public async Task<IReadOnlyList<AdminApiToken>> ListAdminTokensAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT name, scope, created_at, expires_at FROM admin_tokens ORDER BY name");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<AdminApiToken>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (ReadAdminToken(reader) is { } token)
            {
                result.Add(token);
            }
        }

        return result;
    }

    public async Task<bool> DeleteAdminTokenAsync(string name, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginConsumerWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var before = await AdminTokenAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false);
        if (await ExecuteAsync(connection, transaction, "DELETE FROM admin_tokens WHERE name = @name", cancellationToken, ("name", name)).ConfigureAwait(false) == 0)
        {
            return false;
        }

        var seq = await NextSeqAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await LogChangeAsync(connection, transaction, seq, actor, "revoke", "admin-token", name, before is null ? null : AuditBody(before), null, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    // A scope this version does not know (written by a newer one) reads as no token: it grants nothing here.
    private AdminApiToken? ReadAdminToken(System.Data.Common.DbDataReader reader) =>
        Enum.TryParse<AdminTokenScope>(reader.GetString(1), ignoreCase: true, out var scope)
            ? new AdminApiToken(reader.GetString(0), scope, ReadTime(reader, 2), reader.IsDBNull(3) ? null : ReadTime(reader, 3))
            : null;
}
