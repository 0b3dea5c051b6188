using System.Data.Common;
using Gatehouse.Model.Limits;
using Npgsql;
using NpgsqlTypes;

namespace Gatehouse.Management.Stores;

/// <summary>
/// PostgreSQL as the counter engine of limits across nodes (<see cref="ILimitEngine"/>, docs/limits.md): each call is one
/// statement, so the row lock PostgreSQL takes for the upsert makes it atomic without a transaction of our own. None of
/// these takes the revisions' advisory lock, nor NOTIFYs: counters never wait for config commits.
/// </summary>
internal sealed partial class PostgresConfigStore : ILimitEngine
{
    // How many heartbeats between two sweeps of counters whose window has passed (about one a minute per node).
    private const int SweepEvery = 60;
    private int _heartbeats;

    // Writers sweep too, at most once a minute per store: a deployment whose only writer is try it on control nodes
    // (no cluster limits, so no gateway heartbeats) would otherwise keep a row per account and minute of use forever.
    private static readonly TimeSpan WriteSweepEvery = TimeSpan.FromMinutes(1);
    private long _nextWriteSweep; // UTC ticks of the store's clock; 0: at the first write

    string ILimitEngine.Name => "postgresql";

    public async Task<LeaseGrant> ReserveAsync(string key, uint window, long want, long limit, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        // The SET expressions all read the row as it was before this statement, so last_grant is this call's grant;
        // a counter already past the limit (counts added during an outage) grants nothing.
        const string Sql = """
            INSERT INTO limit_counters AS c (counter_key, window_index, used, last_grant, expires_at)
            VALUES (@key, @window, LEAST(@want, @limit), LEAST(@want, @limit), @expires)
            ON CONFLICT (counter_key, window_index) DO UPDATE SET
                used = c.used + GREATEST(LEAST(@want, @limit - c.used), 0),
                last_grant = GREATEST(LEAST(@want, @limit - c.used), 0)
            RETURNING last_grant, used
            """;
        await using var command = _dataSource.CreateCommand(Sql);
        command.Parameters.AddWithValue("key", key);
        command.Parameters.AddWithValue("window", (long)window);
        command.Parameters.AddWithValue("want", want);
        command.Parameters.AddWithValue("limit", limit);
        command.Parameters.AddWithValue("expires", expires.ToUniversalTime());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var grant = new LeaseGrant(reader.GetInt64(0), reader.GetInt64(1));
        SweepSometimes();
        return grant;
    }

    public async Task<long[]> AddAsync(IReadOnlyList<CounterDelta> deltas, CancellationToken cancellationToken)
    {
        var totals = new long[deltas.Count];
        if (deltas.Count == 0)
        {
            return totals;
        }

        // In key order, so that two nodes adding to the same counters lock their rows in one order and cannot deadlock.
        var order = Enumerable.Range(0, deltas.Count).OrderBy(i => deltas[i].Key, StringComparer.Ordinal).ThenBy(i => deltas[i].Window).ToArray();
        const string Sql = """
            INSERT INTO limit_counters AS c (counter_key, window_index, used, last_grant, expires_at)
            SELECT k, w, d, 0, e FROM unnest(@keys, @windows, @deltas, @expires) WITH ORDINALITY AS t(k, w, d, e, i) ORDER BY i
            ON CONFLICT (counter_key, window_index) DO UPDATE SET used = c.used + excluded.used
            RETURNING counter_key, window_index, used
            """;
        await using var command = _dataSource.CreateCommand(Sql);
        command.Parameters.Add(new NpgsqlParameter("keys", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = order.Select(i => deltas[i].Key).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("windows", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = order.Select(i => (long)deltas[i].Window).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("deltas", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = order.Select(i => deltas[i].Delta).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("expires", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = order.Select(i => deltas[i].Expires.UtcDateTime).ToArray() });
        var index = new Dictionary<(string, long), int>();
        for (var i = 0; i < deltas.Count; i++)
        {
            index[(deltas[i].Key, deltas[i].Window)] = i;
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            totals[index[(reader.GetString(0), reader.GetInt64(1))]] = reader.GetInt64(2);
        }

        SweepSometimes();
        return totals;
    }

    // Starts a sweep of the counters whose expiry has passed when the last one a write started is a minute old; the
    // caller never waits for it. One clock read and one compare-exchange per write: no lock, and the DELETE (on the
    // expires_at index) runs on the pool, never on the write's path.
    private void SweepSometimes()
    {
        var now = Clock.GetUtcNow();
        var due = Interlocked.Read(ref _nextWriteSweep);
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref _nextWriteSweep, (now + WriteSweepEvery).UtcTicks, due) != due)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await using var command = _dataSource.CreateCommand("DELETE FROM limit_counters WHERE expires_at < @now");
                command.Parameters.AddWithValue("now", now.ToUniversalTime());
                await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is DbException or ObjectDisposedException or InvalidOperationException or TimeoutException)
            {
                // Nothing counts on the sweep: an expired counter is never read again (its window has passed), and the
                // next write's sweep, a minute on, deletes it.
            }
        });
    }

    public async Task<int> HeartbeatAsync(string node, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var sweep = Interlocked.Increment(ref _heartbeats) % SweepEvery == 1;
        var sql = """
            INSERT INTO limit_nodes (node, seen_at) VALUES (@node, @now) ON CONFLICT (node) DO UPDATE SET seen_at = excluded.seen_at;
            SELECT count(*) FROM limit_nodes WHERE seen_at > @since;
            """ + (sweep
            ? "DELETE FROM limit_counters WHERE expires_at < @now; DELETE FROM limit_nodes WHERE seen_at < @forgotten;"
            : "");
        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("node", node);
        command.Parameters.AddWithValue("now", now.ToUniversalTime());
        command.Parameters.AddWithValue("since", now.AddSeconds(-10).ToUniversalTime());
        if (sweep)
        {
            command.Parameters.AddWithValue("forgotten", now.AddDays(-1).ToUniversalTime());
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        // The INSERT returns no rows, so the reader starts at the SELECT's.
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (int)reader.GetInt64(0);
    }
}
