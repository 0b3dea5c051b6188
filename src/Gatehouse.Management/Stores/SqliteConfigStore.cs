using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Gatehouse.Management.Stores;

/// <summary>
/// The embedded store: one SQLite file in WAL mode (readers never wait for the writer). Writes take
/// the database's write lock up front (BEGIN IMMEDIATE) and wait for it up to the busy timeout, so
/// concurrent writers, in this process or others, queue instead of failing with SQLITE_BUSY.
/// </summary>
internal sealed class SqliteConfigStore : SqlConfigStore
{
    // Without statistics SQLite's planner reads a ranking of applications through the primary key's bucket range and
    // sorts the rows in a temporary B-tree: 1.3 s for 1.5 million day rows of 90 days. The covering index, read whole in
    // application order, takes 0.4 s for them and reads no row, but it reads every application's rows of every time, so it
    // only pays when the range holds a good share of the table (a day's ranking in 90 days of hours: 0.04 s by the key,
    // 0.17 s by the index). The share is estimated from the oldest and newest buckets (a B-tree seek each) as if rows were spread evenly;
    // on a third or more, the index is read. (ANALYZE would let the planner choose, at the price of fresh statistics.)
    protected override async Task<string> RankingHintAsync(DbConnection connection, string table, UsageRowQuery query, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        // Two subqueries: each is one seek at an end of the primary key. SQLite's min/max shortcut takes a query of one
        // aggregate only; "SELECT MIN(bucket), MAX(bucket)" read the whole table (0.13 s for 1.8 million hour rows).
        command.CommandText = $"SELECT (SELECT MIN(bucket) FROM {table}), (SELECT MAX(bucket) FROM {table})";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false) || reader.IsDBNull(0))
        {
            return "";
        }

        var (oldest, newest) = (reader.GetInt64(0), reader.GetInt64(1));
        var covered = Math.Min(query.To, newest + 1) - Math.Max(query.From, oldest);
        return covered * 3 >= newest + 1 - oldest ? $" INDEXED BY {table}_application" : "";
    }

    private const int BusyTimeoutMilliseconds = 5_000;

    /// <summary>Rows a retention statement deletes at most; each such statement is a transaction of its own.</summary>
    internal int RetentionBatchRows { get; set; } = 1_000;

    // SQLite has one writer at a time: one DELETE of 720,000 rollup rows (an hour of a busy estate's minute rows) held the
    // write lock for 7.6 s, and every other writer (config commits, sign-ups, usage flushes) waited that long. In
    // statements of 1,000 rows a writer that comes meanwhile waits 39 ms at p99 (bench/Gatehouse.Bench.Retention,
    // docs/benchmarks.md). Deleting takes three to four times longer that way, beside the flushes and off every request.
    protected override async Task<int> DeleteRowsBeforeAsync(DbConnection connection, string table, long before, CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            var deleted = await ExecuteAsync(
                connection,
                null,
                $"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE bucket < @before LIMIT @batch)",
                cancellationToken,
                ("before", before),
                ("batch", RetentionBatchRows)).ConfigureAwait(false);
            total += deleted;
            if (deleted < RetentionBatchRows)
            {
                return total;
            }

            // A moment between statements for a writer that is waiting (SQLite's wait polls; it does not queue).
            await Task.Delay(TimeSpan.FromMilliseconds(2), cancellationToken).ConfigureAwait(false);
        }
    }

    // Fixed width, UTC, so text order is time order (registrations compare expiry as text).
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    private readonly string _connectionString;

    public SqliteConfigStore(string path, TimeProvider clock)
        : base(clock)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    protected override string DatabaseName => "SQLite";

    protected override string SchemaMigrationsTableSql =>
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)";

    internal async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // WAL is a property of the file: set once, it stays. Returns the mode in force.
        var mode = (string?)await ScalarAsync(connection, null, "PRAGMA journal_mode = WAL", cancellationToken).ConfigureAwait(false);
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigStoreException(
                $"The SQLite store '{Path}' cannot use write-ahead logging (journal mode is '{mode}'). Put it on a local file system.");
        }

        await MigrateAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // Per connection, not per file: how long to wait for another writer before SQLITE_BUSY, and
            // FULL so that a commit that returned is on disk (WAL's default may be NORMAL, which is not).
            await ExecuteAsync(
                connection,
                null,
                $"PRAGMA busy_timeout = {BusyTimeoutMilliseconds.ToString(CultureInfo.InvariantCulture)}; PRAGMA synchronous = FULL",
                cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    protected override Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // deferred: false is BEGIN IMMEDIATE: the write lock is taken now, not at the first write, so a
        // transaction never has to upgrade from reader to writer (which fails at once in WAL mode).
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    protected override Task<DbTransaction> BeginQuotaWriteAsync(DbConnection connection, CancellationToken cancellationToken) => BeginWriteAsync(connection, cancellationToken);

    protected override object TimeValue(DateTimeOffset time) => time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    protected override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) =>
        DateTimeOffset.ParseExact(reader.GetString(ordinal), TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    protected override string MigrationSql(Migration migration) => migration.Sqlite;

    // A unary plus is how SQLite is told not to choose an index by a term (its query planner documentation).
    protected override string Unindexed(string column) => "+" + column;

    internal override async Task<string> ExplainAsync(string sql, (string Name, object? Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "EXPLAIN QUERY PLAN " + sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var lines = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            lines.Add(reader.GetString(3));
        }

        return string.Join("\n", lines);
    }

    // In-process, a prepared one-row statement run per row is the fast way: SQLite looks a named parameter up by a linear
    // scan, so a statement of 200 rows (2,400 parameters) spends its time binding.
    private protected override async Task UpsertRollupsAsync<T>(DbConnection connection, DbTransaction transaction, RollupShape<T> shape, string table, List<T> rows, CancellationToken cancellationToken)
    {
        var parameters = new List<(string, object?)>(shape.ParametersPerRow);
        shape.AddParameters(parameters, rows[0], "");
        await using var command = Command(connection, transaction, shape.UpsertOne(table), [.. parameters]);
        command.Prepare();
        foreach (var row in rows)
        {
            parameters.Clear();
            shape.AddParameters(parameters, row, "");
            for (var i = 0; i < parameters.Count; i++)
            {
                command.Parameters[i].Value = parameters[i].Item2;
            }

            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override ValueTask DisposeAsync()
    {
        // Pooled connections keep the file open (and its -wal/-shm files); release them with the store.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }
}
