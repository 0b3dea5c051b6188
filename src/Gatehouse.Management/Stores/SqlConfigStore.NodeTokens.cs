namespace Gatehouse.Management.Stores;

// Node tokens (issue 21): plain rows outside the revision scheme, like settings.
internal abstract partial class SqlConfigStore
{
    public async Task SetNodeTokenAsync(string name, string tokenSha256, string? node = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(tokenSha256);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(
            connection,
            null,
            """
            INSERT INTO node_tokens (name, token_sha256, created_at, node) VALUES (@name, @hash, @at, @node)
            ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256, created_at = excluded.created_at, node = excluded.node
            """,
            cancellationToken,
            ("name", name),
            ("node", node),
            ("hash", tokenSha256),
            ("at", TimeValue(_clock.GetUtcNow()))).ConfigureAwait(false);
    }

    public async Task<string?> FindNodeTokenAsync(string tokenSha256, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return (string?)await ScalarAsync(connection, null, "SELECT name FROM node_tokens WHERE token_sha256 = @hash", cancellationToken, ("hash", tokenSha256))
            .ConfigureAwait(false);
    }

    public async Task<string?> BindNodeTokenAsync(string name, string node, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(node);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // One statement binds only an unbound token; whoever bound it first, the read after it says who.
        await ExecuteAsync(connection, null, "UPDATE node_tokens SET node = @node WHERE name = @name AND node IS NULL", cancellationToken, ("name", name), ("node", node))
            .ConfigureAwait(false);
        return (string?)await ScalarAsync(connection, null, "SELECT node FROM node_tokens WHERE name = @name", cancellationToken, ("name", name)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<NodeToken>> ListNodeTokensAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT name, created_at, node FROM node_tokens ORDER BY name");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<NodeToken>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new NodeToken(reader.GetString(0), ReadTime(reader, 1), NullableString(reader, 2)));
        }

        return result;
    }

    public async Task<bool> DeleteNodeTokenAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, "DELETE FROM node_tokens WHERE name = @name", cancellationToken, ("name", name)).ConfigureAwait(false) > 0;
    }
}
