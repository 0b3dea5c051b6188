namespace Gatehouse.Management.Stores;

// Named admin API tokens: plain rows outside the revision scheme, like node tokens.
internal abstract partial class SqlConfigStore
{
    public async Task SetAdminTokenAsync(string name, string tokenSha256, AdminTokenScope scope, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(tokenSha256);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // A NULL written as such: a parameter without a value is sent as text, which PostgreSQL will not put in a timestamp.
        var expires = expiresAt is null ? "NULL" : "@expires";
        await ExecuteAsync(
            connection,
            null,
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
    }

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

    public async Task<bool> DeleteAdminTokenAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "DELETE FROM admin_tokens WHERE name = @name", cancellationToken, ("name", name)).ConfigureAwait(false) > 0;
    }

    // A scope this version does not know (written by a newer one) reads as no token: it grants nothing here.
    private AdminApiToken? ReadAdminToken(System.Data.Common.DbDataReader reader) =>
        Enum.TryParse<AdminTokenScope>(reader.GetString(1), ignoreCase: true, out var scope)
            ? new AdminApiToken(reader.GetString(0), scope, ReadTime(reader, 2), reader.IsDBNull(3) ? null : ReadTime(reader, 3))
            : null;
}
