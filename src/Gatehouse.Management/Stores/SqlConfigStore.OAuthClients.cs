using System.Data.Common;

namespace Gatehouse.Management.Stores;

// OAuth clients the portal registered at the provider (RFC 7591): plain rows, never read by nodes (they learn the
// client ids from the applications, as before).
internal abstract partial class SqlConfigStore
{
    private const string OAuthClientColumns = "client_id, application, issuer, management_uri, management_token, created_at";

    public async Task AddOAuthClientAsync(OAuthClientRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, $"INSERT INTO portal_oauth_clients ({OAuthClientColumns}) VALUES (@clientId, @application, @issuer, @uri, @token, @at)", cancellationToken,
            ("clientId", registration.ClientId), ("application", registration.Application), ("issuer", registration.Issuer),
            ("uri", registration.ManagementUri), ("token", registration.ManagementToken), ("at", TimeValue(registration.CreatedAt))).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<OAuthClientRegistration>> ListOAuthClientsAsync(string application, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, $"SELECT {OAuthClientColumns} FROM portal_oauth_clients WHERE application = @application ORDER BY created_at, client_id",
            ("application", application));
        return await ReadOAuthClientsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<OAuthClientRegistration>> ListUnboundOAuthClientsAsync(DateTimeOffset madeBefore, int limit, CancellationToken cancellationToken = default)
    {
        CheckLimit(limit);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null,
            $"SELECT {string.Join(", ", OAuthClientColumns.Split(", ").Select(c => "r." + c))} FROM portal_oauth_clients r " +
            "WHERE r.created_at < @before AND NOT EXISTS (SELECT 1 FROM portal_client_ids b WHERE b.client_id = r.client_id AND b.application = r.application) " +
            "ORDER BY r.created_at LIMIT @limit",
            ("before", TimeValue(madeBefore)), ("limit", limit));
        return await ReadOAuthClientsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteOAuthClientAsync(string clientId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "DELETE FROM portal_oauth_clients WHERE client_id = @clientId", cancellationToken, ("clientId", clientId)).ConfigureAwait(false);
    }

    private async Task<List<OAuthClientRegistration>> ReadOAuthClientsAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var list = new List<OAuthClientRegistration>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new(reader.GetString(0), reader.GetString(1), reader.GetString(2), NullableString(reader, 3), NullableString(reader, 4), ReadTime(reader, 5)));
        }

        return list;
    }
}
