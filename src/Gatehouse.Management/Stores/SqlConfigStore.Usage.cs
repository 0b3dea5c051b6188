using System.Data.Common;
using System.Text;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Stores;

// Usage rollups (issue 19): written by each node's aggregator, read by analytics. See docs/observability.md.
internal abstract partial class SqlConfigStore : IUsageStore
{
    // Rows per INSERT statement: 12 parameters each stays far below both databases' parameter limits.
    private const int RowsPerStatement = 200;

    private const string Columns = "bucket, node, application, plan, operation, status, count, bytes_in, bytes_out, latency_sum, steps, histogram";

    /// <summary>Starts the transaction of a usage write. Default: the store's write lock (SQLite needs it to write at all).</summary>
    protected virtual Task<DbTransaction> BeginUsageWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        BeginWriteAsync(connection, cancellationToken);

    private static string Table(UsageGranularity granularity) => granularity switch
    {
        UsageGranularity.Minute => "usage_minute",
        UsageGranularity.Hour => "usage_hour",
        UsageGranularity.Day => "usage_day",
        _ => throw new ArgumentOutOfRangeException(nameof(granularity)),
    };

    public async Task WriteAsync(IReadOnlyList<UsageRow> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            return;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginUsageWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        foreach (var group in rows.GroupBy(r => r.Granularity))
        {
            var list = group.ToList();
            for (var start = 0; start < list.Count; start += RowsPerStatement)
            {
                var chunk = list.GetRange(start, Math.Min(RowsPerStatement, list.Count - start));
                var sql = new StringBuilder($"INSERT INTO {Table(group.Key)} ({Columns}) VALUES ");
                var parameters = new List<(string, object?)>(chunk.Count * 12);
                for (var i = 0; i < chunk.Count; i++)
                {
                    var r = chunk[i];
                    sql.Append(i == 0 ? "" : ", ").Append($"(@b{i}, @n{i}, @a{i}, @p{i}, @o{i}, @s{i}, @c{i}, @bi{i}, @bo{i}, @l{i}, @st{i}, @h{i})");
                    parameters.Add(($"b{i}", r.Bucket));
                    parameters.Add(($"n{i}", Text(r.Node)));
                    parameters.Add(($"a{i}", Text(r.Key.Application)));
                    parameters.Add(($"p{i}", Text(r.Key.Plan)));
                    parameters.Add(($"o{i}", Text(r.Key.Operation)));
                    parameters.Add(($"s{i}", r.Key.Status));
                    parameters.Add(($"c{i}", r.Count));
                    parameters.Add(($"bi{i}", r.BytesIn));
                    parameters.Add(($"bo{i}", r.BytesOut));
                    parameters.Add(($"l{i}", r.LatencySumMicros));
                    parameters.Add(($"st{i}", r.Steps));
                    parameters.Add(($"h{i}", r.Histogram.ToBytes()));
                }

                // A node writes whole values of its own rows, so the newer row simply replaces the stored one.
                sql.Append(" ON CONFLICT (bucket, application, plan, operation, status, node) DO UPDATE SET count = excluded.count, ")
                    .Append("bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out, latency_sum = excluded.latency_sum, steps = excluded.steps, histogram = excluded.histogram");
                await ExecuteAsync(connection, transaction, sql.ToString(), cancellationToken, [.. parameters]).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<UsageRow>> LoadAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default)
    {
        var result = new List<UsageRow>();
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var group in buckets.GroupBy(b => b.Granularity))
        {
            var wanted = group.Select(b => b.Bucket).ToHashSet();
            await using var command = Command(connection, null,
                $"SELECT {Columns} FROM {Table(group.Key)} WHERE bucket >= @from AND bucket <= @to AND node = @node",
                ("from", wanted.Min()), ("to", wanted.Max()), ("node", node));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var row = ReadUsageRow(reader, group.Key);
                if (wanted.Contains(row.Bucket))
                {
                    result.Add(row);
                }
            }
        }

        return result;
    }

    public async Task<int> DeleteBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, $"DELETE FROM {Table(granularity)} WHERE bucket < @before", cancellationToken, ("before", before)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<UsageRow>> ReadUsageAsync(UsageRowQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var sql = new StringBuilder($"SELECT {Columns} FROM {Table(query.Granularity)} WHERE bucket >= @from AND bucket < @to");
        var parameters = new List<(string, object?)> { ("from", query.From), ("to", query.To) };
        if (query.AllApplications)
        {
            sql.Append(" AND application = @all");
            parameters.Add(("all", UsageKey.AllApplications));
        }
        else if (query.Applications is not { Count: > 0 })
        {
            sql.Append(" AND application <> @all");
            parameters.Add(("all", UsageKey.AllApplications));
        }

        In(sql, parameters, "application", query.AllApplications ? null : query.Applications);
        In(sql, parameters, "plan", query.Plans);
        In(sql, parameters, "operation", query.Operations);
        In(sql, parameters, "node", query.Nodes);
        In(sql, parameters, "status", query.Statuses?.Select(s => (object)s).ToList());

        var result = new List<UsageRow>();
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, sql.ToString(), [.. parameters]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(ReadUsageRow(reader, query.Granularity));
        }

        return result;
    }

    /// <summary>
    /// Text as both databases can keep it: PostgreSQL refuses NUL in text, and one such row would fail every flush after it,
    /// so NUL becomes U+FFFD. (Names come from validated config and never hold one; this keeps a bad one from wedging usage.)
    /// </summary>
    internal static string Text(string value) => value.Contains('\0', StringComparison.Ordinal) ? value.Replace('\0', '\uFFFD') : value;

    private static void In<T>(StringBuilder sql, List<(string, object?)> parameters, string column, IReadOnlyList<T>? values)
    {
        if (values is not { Count: > 0 })
        {
            return;
        }

        sql.Append($" AND {column} IN (");
        for (var i = 0; i < values.Count; i++)
        {
            var name = $"{column}{i}";
            sql.Append(i == 0 ? "@" : ", @").Append(name);
            parameters.Add((name, values[i]));
        }

        sql.Append(')');
    }

    private static UsageRow ReadUsageRow(DbDataReader reader, UsageGranularity granularity) => new()
    {
        Granularity = granularity,
        Bucket = reader.GetInt64(0),
        Node = reader.GetString(1),
        Key = new UsageKey(reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetInt32(5)),
        Count = reader.GetInt64(6),
        BytesIn = reader.GetInt64(7),
        BytesOut = reader.GetInt64(8),
        LatencySumMicros = reader.GetInt64(9),
        Steps = reader.GetInt64(10),
        Histogram = LatencyHistogram.FromBytes(reader.GetFieldValue<byte[]>(11)),
    };
}
