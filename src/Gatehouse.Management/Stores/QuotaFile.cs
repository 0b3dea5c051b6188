using Gatehouse.Model.Limits;
using Microsoft.Data.Sqlite;

namespace Gatehouse.Management.Stores;

/// <summary>
/// A node's quota counts in a SQLite file of its own, for nodes that have no store to keep them in: a hybrid data node
/// (in its state folder) and <c>gatehouse run --config FILE --state-dir DIR</c>. So an hour's, a day's or a month's
/// quota does not start over when such a node restarts (docs/limits.md, "Quotas across a restart"). The table and its
/// statements are the store's (<see cref="QuotaCountRows"/>); SQLite's journal makes each batch all or nothing.
/// </summary>
internal sealed class QuotaFile(string path) : IQuotaCountStore
{
    // The file's schema version (PRAGMA user_version): 1 is the store's quota_counts table, as migration 2 made it.
    private const int Schema = 1;

    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        DefaultTimeout = 5,
    }.ToString();

    private volatile bool _ready;

    /// <summary>The file's full path.</summary>
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public async Task<IReadOnlyList<QuotaCount>> ReadQuotaCountsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QuotaCountRows.ReadAsync(connection, cancellationToken).ConfigureAwait(false);
    }

    public async Task WriteQuotaCountsAsync(IReadOnlyList<QuotaCount> counts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (counts.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await QuotaCountRows.WriteAsync(connection, transaction, counts, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    // The file lives in a node's state folder, whose files are owner-only (the hybrid node's StateFiles): SQLite would make
    // it by the umask (0644 on most systems), so it is made here first, empty (an empty file is an empty database);
    // SQLite gives its journal the database file's mode. The folder, when made here, is owner-only too.
    private void MakeOwnerOnly()
    {
        var folder = System.IO.Path.GetDirectoryName(Path);
        if (OperatingSystem.IsWindows())
        {
            if (folder is { Length: > 0 })
            {
                Directory.CreateDirectory(folder);
            }

            return;
        }

        if (folder is { Length: > 0 })
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        try
        {
            using var _ = new FileStream(Path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException) when (File.Exists(Path))
        {
            // Made before (by an earlier start, or another opener just now): its mode is what it was made with.
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (!_ready)
        {
            MakeOwnerOnly();
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (!_ready)
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                var version = SqlConfigStore.ToLong(await SqlConfigStore.ScalarAsync(connection, transaction, "PRAGMA user_version", cancellationToken).ConfigureAwait(false));
                if (version == 0)
                {
                    await SqlConfigStore.ExecuteAsync(connection, transaction, Migrations.All.Single(m => m.Version == 2).Sqlite, cancellationToken).ConfigureAwait(false);
                    await SqlConfigStore.ExecuteAsync(connection, transaction, $"PRAGMA user_version = {Schema}", cancellationToken).ConfigureAwait(false);
                }
                else if (version > Schema)
                {
                    throw new InvalidOperationException($"{Path} was written by a newer Gatehouse (quota file version {version}); move it away to start the quotas over.");
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                _ready = true;
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
