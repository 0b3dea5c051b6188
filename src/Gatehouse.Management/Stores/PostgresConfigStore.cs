using System.Data.Common;
using Npgsql;

namespace Gatehouse.Management.Stores;

/// <summary>
/// The cluster store: PostgreSQL, shared by every control-plane instance. Writers serialize on a
/// transaction-scoped advisory lock, so revision numbers have no gaps and the expected-revision check
/// cannot race; readers never take it.
/// </summary>
internal sealed partial class PostgresConfigStore : SqlConfigStore, IRevisionNotifications, IConsumerNotifications
{
    // Any constant works; it only has to be the same for every writer of one database.
    private const long WriteLockKey = 0x4761_7465_686f_7573; // "Gatehous"

    // Consumer changes have a lock of their own: a sign-up never waits for a config commit, nor the other way round.
    private const long ConsumerLockKey = 0x4761_7465_436f_6e73; // "GateCons"

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresRevisionListener? _listener;
    private readonly PostgresRevisionListener? _consumerListener;
    private readonly PostgresRevisionListener? _purgeListener;

    // Cache purges have a lock of their own too: a burst of writes through the gateway never waits for a commit or a sign-up.
    private const long CachePurgeLockKey = 0x4761_7465_5075_7267; // "GatePurg"

    /// <param name="dataSource">The pool every store call uses.</param>
    /// <param name="clock">The store's clock.</param>
    /// <param name="listenConnectionString">Where the dedicated LISTEN connection goes (the same database); null: no notifications, polling only.</param>
    public PostgresConfigStore(NpgsqlDataSource dataSource, TimeProvider clock, string? listenConnectionString = null)
        : base(clock)
    {
        _dataSource = dataSource;
        _listener = listenConnectionString is null ? null : new PostgresRevisionListener(listenConnectionString);
        _consumerListener = listenConnectionString is null ? null : new PostgresRevisionListener(listenConnectionString, PostgresRevisionListener.ConsumerChannel);
        _purgeListener = listenConnectionString is null ? null : new PostgresRevisionListener(listenConnectionString, PostgresRevisionListener.CachePurgeChannel);
    }

    // NOTIFY takes a database-wide lock at commit, so only config and consumer commits send one (never usage, quota, login
    // or node writes, which are many): both already serialize on a write lock of their own, so the lock adds no waiting
    // among them. Delivered at commit, never for a rolled-back change.
    protected override Task RevisionCommittingAsync(DbConnection connection, DbTransaction transaction, long revision, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, $"SELECT pg_notify('{PostgresRevisionListener.Channel}', @revision)", cancellationToken,
            ("revision", revision.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    public Task ListenAsync(Action<long> committed, StoreHealth health, CancellationToken stop) =>
        _listener?.ListenAsync(committed, health, stop) ?? Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { }, TaskScheduler.Default);

    // A consumer change (a sign-up, an application, a key) tells every node at its commit, so a new key works on the
    // others within milliseconds, not at their next poll.
    protected override Task ConsumerChangingAsync(DbConnection connection, DbTransaction transaction, long seq, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, $"SELECT pg_notify('{PostgresRevisionListener.ConsumerChannel}', @seq)", cancellationToken,
            ("seq", seq.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    public Task ListenConsumersAsync(Action<long> changed, StoreHealth health, CancellationToken stop) =>
        _consumerListener?.ListenAsync(changed, health, stop) ?? Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { }, TaskScheduler.Default);

    // A batch of cache purges tells every node at its commit, so the others drop the answers within milliseconds. Batches
    // are few (a node writes at most one at a time, its purges of a moment together), so NOTIFY's commit lock costs little.
    protected override Task CachePurgesRecordingAsync(DbConnection connection, DbTransaction transaction, long seq, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, $"SELECT pg_notify('{PostgresRevisionListener.CachePurgeChannel}', @seq)", cancellationToken,
            ("seq", seq.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    protected override Task<DbTransaction> BeginCachePurgeWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        BeginLockedAsync(connection, CachePurgeLockKey, cancellationToken);

    public override bool NotifiesCachePurges => _purgeListener is not null;

    public override Task ListenCachePurgesAsync(Action<long> recorded, StoreHealth health, CancellationToken stop) =>
        _purgeListener?.ListenAsync(recorded, health, stop) ?? base.ListenCachePurgesAsync(recorded, health, stop);

    protected override string DatabaseName => "PostgreSQL";

    protected override string SchemaMigrationsTableSql =>
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)";

    protected override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    protected override Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        BeginLockedAsync(connection, WriteLockKey, cancellationToken);

    protected override Task<DbTransaction> BeginConsumerWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        BeginLockedAsync(connection, ConsumerLockKey, cancellationToken);

    // Each key's own advisory lock (in order, so two transactions never wait on each other crosswise), not the store's
    // write lock: sign-ins of different accounts do not wait for each other or for config and consumer writes.
    protected override async Task<DbTransaction> BeginLoginWriteAsync(DbConnection connection, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var key in keys.Order(StringComparer.Ordinal))
            {
                await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtextextended(@key, 71))", cancellationToken, ("key", "login:" + key))
                    .ConfigureAwait(false);
            }

            return transaction;
        }
        catch
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<DbTransaction> BeginLockedAsync(DbConnection connection, long key, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Held until commit or rollback. Under READ COMMITTED every later statement sees what the
            // previous holder committed, so "current revision" read after this is the real one.
            await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(@key)", cancellationToken, ("key", key))
                .ConfigureAwait(false);
            return transaction;
        }
        catch
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // Usage rows have one writer each (their node): no need to queue behind config commits on the advisory lock.
    protected override async Task<DbTransaction> BeginUsageWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

    // Two uploads of one node at once (a retry racing its original) queue on the row instead of both passing the check.
    protected override string SelectUploadSequenceSql => "SELECT sequence FROM node_usage_uploads WHERE node = @node FOR UPDATE";

    // A claim of the id by another process waits for this usage write to commit, and the write sees a claim committed before it.
    protected override string SelectNodeInstanceSql => "SELECT instance FROM nodes WHERE id = @id FOR SHARE";

    protected override object TimeValue(DateTimeOffset time) => time.ToUniversalTime();

    protected override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    protected override string MigrationSql(Migration migration) => migration.Postgres;

    protected override string Ordinal(string column) => $"({column} COLLATE \"C\")";

    // With sequential scans priced out, a plan that still has one has no index to use: on a test's few rows the planner
    // would rightly scan anyway, and say nothing of the 100,000 the index is for.
    internal override async Task<string> ExplainAsync(string sql, (string Name, object? Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "SET LOCAL enable_seqscan = off", cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, transaction, "EXPLAIN " + sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var lines = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            lines.Add(reader.GetString(0));
        }

        return string.Join("\n", lines);
    }

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
