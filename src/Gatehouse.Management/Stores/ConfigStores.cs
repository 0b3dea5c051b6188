using System.Data.Common;
using Npgsql;

namespace Gatehouse.Management.Stores;

/// <summary>Opens a configuration store from the one string a user writes.</summary>
public static class ConfigStores
{
    private const string Help =
        "Write a SQLite file path (gatehouse.db, /var/lib/gatehouse/gatehouse.db or sqlite:PATH), " +
        "a PostgreSQL URL (postgres://user:password@host:5432/database) " +
        "or a PostgreSQL connection string (Host=host;Database=database;Username=user;Password=password).";

    /// <summary>
    /// Opens the store <paramref name="connection"/> names and applies pending schema migrations.
    /// The rule, in order: <c>postgres://</c> or <c>postgresql://</c> is a PostgreSQL URL;
    /// <c>sqlite:PATH</c> is a SQLite file; text with <c>=</c> is a PostgreSQL connection string and
    /// must have <c>Host=</c>; anything else is a SQLite file path (created when missing).
    /// </summary>
    /// <exception cref="ConfigStoreException">The string is not one of the above, the database cannot be reached, or its schema is newer than this code.</exception>
    public static async Task<IConfigStore> OpenAsync(string connection, TimeProvider clock, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(clock);
        var target = Parse(connection);
        if (target.SqlitePath is { } path)
        {
            var store = new SqliteConfigStore(path, clock);
            await InitializeAsync(store, store.InitializeAsync, $"the SQLite store '{path}'", cancellationToken).ConfigureAwait(false);
            return store;
        }

        var builder = target.Postgres!;
        var postgres = new PostgresConfigStore(new NpgsqlDataSourceBuilder(builder.ConnectionString).Build(), clock, builder.ConnectionString);
        var where = $"the PostgreSQL store at {builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";
        await InitializeAsync(postgres, postgres.MigrateAsync, where, cancellationToken).ConfigureAwait(false);
        return postgres;
    }

    private static async Task InitializeAsync(SqlConfigStore store, Func<CancellationToken, Task> initialize, string where, CancellationToken cancellationToken)
    {
        try
        {
            await initialize(cancellationToken).ConfigureAwait(false);
        }
        catch (DbException e)
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw new ConfigStoreException($"Cannot open {where}: {e.Message}", e);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal static (string? SqlitePath, NpgsqlConnectionStringBuilder? Postgres) Parse(string connection)
    {
        var text = connection.Trim();
        if (text.Length == 0)
        {
            throw new ConfigStoreException("The store connection is empty. " + Help);
        }

        if (text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return (null, PostgresUrl.Parse(text, Help));
        }

        if (text.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase))
        {
            return (SqlitePath(text["sqlite:".Length..]), null);
        }

        if (text.Contains('=', StringComparison.Ordinal))
        {
            if (text.Contains("data source", StringComparison.OrdinalIgnoreCase) || text.StartsWith("filename", StringComparison.OrdinalIgnoreCase))
            {
                throw new ConfigStoreException(
                    "The store connection looks like a SQLite connection string; write only the file path, or sqlite:PATH. " + Help);
            }

            NpgsqlConnectionStringBuilder builder;
            try
            {
                builder = new NpgsqlConnectionStringBuilder(text);
            }
            catch (ArgumentException e)
            {
                throw new ConfigStoreException($"The store connection is not a valid PostgreSQL connection string ({e.Message}). " + Help, e);
            }

            if (string.IsNullOrEmpty(builder.Host))
            {
                throw new ConfigStoreException(
                    "The store connection looks like a connection string but has no Host=. " +
                    "For a SQLite file whose name contains '=', write sqlite:PATH. " + Help);
            }

            return (null, builder);
        }

        return (SqlitePath(text), null);
    }

    private static string SqlitePath(string path)
    {
        if (path.Length == 0 || path.StartsWith(':'))
        {
            throw new ConfigStoreException(
                $"'{path}' is not a SQLite file path (in-memory databases do not keep the configuration). " + Help);
        }

        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full);
        if (directory is not null && !Directory.Exists(directory))
        {
            throw new ConfigStoreException($"The folder of the SQLite store '{full}' does not exist; create it or choose another path.");
        }

        return full;
    }
}
