using System.Data.Common;
using Gatehouse.Model.Config;
using Gatehouse.Model.Limits;

namespace Gatehouse.Management.Stores;

/// <summary>The gateway's quota counts (<see cref="IQuotaCountStore"/>): one row per application, limit and window.</summary>
internal abstract partial class SqlConfigStore
{
    /// <summary>
    /// The transaction quota counts are written in. By default not the revisions' write lock: counts never wait for a
    /// config change, nor a change for them (SQLite has one writer whatever, and takes it up front).
    /// </summary>
    protected virtual async Task<DbTransaction> BeginQuotaWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<QuotaCount>> ReadQuotaCountsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await QuotaCountRows.ReadAsync(connection, cancellationToken).ConfigureAwait(false);
    }

    public async Task WriteQuotaCountsAsync(IReadOnlyList<QuotaCount> counts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (counts.Count == 0)
        {
            return;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginQuotaWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await QuotaCountRows.WriteAsync(connection, transaction, counts, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The <c>quota_counts</c> table's reads and writes, shared by the store and a node's own <see cref="QuotaFile"/>.</summary>
internal static class QuotaCountRows
{
    public static async Task<IReadOnlyList<QuotaCount>> ReadAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await using var command = SqlConfigStore.Command(connection, null, "SELECT application, limit_key, period, window_index, count FROM quota_counts");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<QuotaCount>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // A row written by a newer Gatehouse with a period this one does not know is left alone.
            if (Enum.TryParse<LimitPeriod>(reader.GetString(2), out var per))
            {
                var window = SqlConfigStore.ToLong(reader.GetValue(3));
                var count = SqlConfigStore.ToLong(reader.GetValue(4));
                if (window is >= 0 and <= uint.MaxValue && count >= 0)
                {
                    result.Add(new QuotaCount(reader.GetString(0), reader.GetString(1), per, (uint)window, count));
                }
            }
        }

        return result;
    }

    /// <summary>Each count replaces its application's, limit's and window's (never lowering it); older windows of that application and limit are forgotten.</summary>
    public static async Task WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<QuotaCount> counts, CancellationToken cancellationToken)
    {
        foreach (var c in counts)
        {
            // Never lower a stored count: a count only grows within its window, and a write that raced an older one must not undo it.
            await SqlConfigStore.ExecuteAsync(
                connection,
                transaction,
                """
                INSERT INTO quota_counts (application, limit_key, period, window_index, count) VALUES (@app, @limit, @period, @window, @count)
                ON CONFLICT (application, limit_key, window_index) DO UPDATE SET count = CASE WHEN excluded.count > quota_counts.count THEN excluded.count ELSE quota_counts.count END
                """,
                cancellationToken,
                ("app", c.Application),
                ("limit", c.Limit),
                ("period", c.Per.ToString()),
                ("window", (long)c.Window),
                ("count", c.Count)).ConfigureAwait(false);
            await SqlConfigStore.ExecuteAsync(
                connection,
                transaction,
                "DELETE FROM quota_counts WHERE application = @app AND limit_key = @limit AND window_index < @window",
                cancellationToken,
                ("app", c.Application),
                ("limit", c.Limit),
                ("window", (long)c.Window)).ConfigureAwait(false);
        }
    }
}
