using System.Data;
using System.Data.Common;
using System.Globalization;

namespace Gatehouse.Management.Stores;

/// <summary>
/// The store's logic in SQL both databases understand; subclasses supply connections, the write lock,
/// time values and the schema. Every value travels as a parameter, never inside SQL text.
/// </summary>
internal abstract partial class SqlConfigStore : IConfigStore
{
    private readonly TimeProvider _clock;

    protected SqlConfigStore(TimeProvider clock) => _clock = clock;

    /// <summary>The store's clock, which the timestamps it writes come from.</summary>
    protected TimeProvider Clock => _clock;

    /// <summary>A name for errors and docs: "SQLite" or "PostgreSQL".</summary>
    protected abstract string DatabaseName { get; }

    /// <summary>The DDL of the migrations bookkeeping table, run (IF NOT EXISTS) before every migration step.</summary>
    protected abstract string SchemaMigrationsTableSql { get; }

    protected abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Starts a transaction that holds the store's single write lock until it ends, so writers queue
    /// (rather than fail) and the expected-revision check and the new number are race-free.
    /// </summary>
    protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    protected abstract object TimeValue(DateTimeOffset time);

    protected abstract DateTimeOffset ReadTime(DbDataReader reader, int ordinal);

    protected abstract string MigrationSql(Migration migration);

    /// <summary>
    /// Called inside a config commit's transaction, just before it commits, with the new revision's number. Only config
    /// commits (and rollbacks) call it: never consumer changes, usage flushes or node reports. Default: nothing.
    /// </summary>
    protected virtual Task RevisionCommittingAsync(DbConnection connection, DbTransaction transaction, long revision, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    public abstract ValueTask DisposeAsync();

    /// <summary>Applies pending migrations, each in its own write transaction; refuses a schema newer than this code.</summary>
    internal async Task MigrateAsync(CancellationToken cancellationToken)
    {
        foreach (var migration in Migrations.All)
        {
            await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, SchemaMigrationsTableSql, cancellationToken).ConfigureAwait(false);
            var applied = ToLong(await ScalarAsync(
                connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", cancellationToken).ConfigureAwait(false));
            if (applied > Migrations.Latest)
            {
                throw new ConfigStoreException(
                    $"The {DatabaseName} store has schema version {applied}, newer than this Gatehouse understands " +
                    $"({Migrations.Latest}). Upgrade Gatehouse to the version that wrote it, or point it at another store.");
            }

            if (applied >= migration.Version)
            {
                continue;
            }

            await ExecuteAsync(connection, transaction, MigrationSql(migration), cancellationToken).ConfigureAwait(false);
            if (migration.Code is { } code)
            {
                await code(connection, transaction, cancellationToken).ConfigureAwait(false);
            }

            await ExecuteAsync(
                connection,
                transaction,
                "INSERT INTO schema_migrations (version, applied_at) VALUES (@version, @at)",
                cancellationToken,
                ("version", migration.Version),
                ("at", TimeValue(_clock.GetUtcNow()))).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The highest applied schema version (for tests and diagnostics).</summary>
    internal async Task<long> SchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return ToLong(await ScalarAsync(connection, null, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", cancellationToken)
            .ConfigureAwait(false));
    }

    internal static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + name;
            if (value is null)
            {
                // Every nullable column is text; without a type PostgreSQL cannot infer one for a bare NULL.
                parameter.DbType = DbType.String;
                parameter.Value = DBNull.Value;
            }
            else
            {
                parameter.Value = value;
            }

            command.Parameters.Add(parameter);
        }

        return command;
    }

    internal static async Task<int> ExecuteAsync(
        DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static async Task<object?> ScalarAsync(
        DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is DBNull ? null : value;
    }

    internal static long ToLong(object? value) => Convert.ToInt64(value, CultureInfo.InvariantCulture);

    private static string? NullableString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static void CheckLimit(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 10_000);
    }
}
