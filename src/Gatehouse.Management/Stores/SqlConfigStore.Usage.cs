using System.Data.Common;
using System.Text;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Stores;

// Usage rollups (issue 19): written by each node's aggregator, read by analytics. See docs/observability.md.
internal abstract partial class SqlConfigStore : IUsageStore
{
    // Rows per INSERT statement: 12 parameters each stays far below both databases' parameter limits.
    private const int RowsPerStatement = 200;

    // A node writes whole values of its own rows, so the newer row simply replaces the stored one.
    private static readonly RollupShape<UsageRow> RequestRollups = new(
        "usage",
        "bucket, node, application, plan, operation, status, count, bytes_in, bytes_out, latency_sum, steps, histogram",
        ["b", "n", "a", "p", "o", "s", "c", "bi", "bo", "l", "st", "h"],
        " ON CONFLICT (bucket, application, plan, operation, status, node) DO UPDATE SET count = excluded.count, "
        + "bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out, latency_sum = excluded.latency_sum, steps = excluded.steps, histogram = excluded.histogram",
        static (parameters, r, suffix) =>
        {
            parameters.Add(("b" + suffix, r.Bucket));
            parameters.Add(("n" + suffix, Text(r.Node)));
            parameters.Add(("a" + suffix, Text(r.Key.Application)));
            parameters.Add(("p" + suffix, Text(r.Key.Plan)));
            parameters.Add(("o" + suffix, Text(r.Key.Operation)));
            parameters.Add(("s" + suffix, r.Key.Status));
            parameters.Add(("c" + suffix, r.Count));
            parameters.Add(("bi" + suffix, r.BytesIn));
            parameters.Add(("bo" + suffix, r.BytesOut));
            parameters.Add(("l" + suffix, r.LatencySumMicros));
            parameters.Add(("st" + suffix, r.Steps));
            parameters.Add(("h" + suffix, r.Histogram.ToBytes()));
        },
        ReadUsageRow);

    private static string Columns => RequestRollups.Columns;

    private static string Table(UsageGranularity granularity) => RequestRollups.Table(granularity);

    /// <summary>Starts the transaction of a usage write. Default: the store's write lock (SQLite needs it to write at all).</summary>
    protected virtual Task<DbTransaction> BeginUsageWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        BeginWriteAsync(connection, cancellationToken);

    /// <summary>
    /// Creates or replaces <paramref name="rows"/> in <paramref name="table"/>. Default: statements of 200 rows each (one
    /// round trip per 200 rows, for a database across the network).
    /// </summary>
    private protected virtual async Task UpsertRollupsAsync<T>(DbConnection connection, DbTransaction transaction, RollupShape<T> shape, string table, List<T> rows, CancellationToken cancellationToken)
        where T : RollupRow
    {
        for (var start = 0; start < rows.Count; start += RowsPerStatement)
        {
            var chunk = rows.GetRange(start, Math.Min(RowsPerStatement, rows.Count - start));
            var parameters = new List<(string, object?)>(chunk.Count * shape.ParametersPerRow);
            for (var i = 0; i < chunk.Count; i++)
            {
                shape.AddParameters(parameters, chunk[i], i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            await ExecuteAsync(connection, transaction, shape.Upsert(table, chunk.Count), cancellationToken, [.. parameters]).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes <paramref name="rows"/> (whole values of their node's rows) in one transaction; with <paramref name="owner"/>,
    /// only while that process holds the node id (else nothing is written and the answer is false).
    /// </summary>
    private async Task<bool> WriteRollupsAsync<T>(RollupShape<T> shape, IReadOnlyList<T> rows, CancellationToken cancellationToken, Func<DbConnection, DbTransaction, Task<List<(string Application, long First, long Last)>>>? applications = null, (string Node, string Instance)? owner = null)
        where T : RollupRow
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            return true;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginUsageWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        if (owner is { } o && !await HoldsNodeAsync(connection, transaction, o.Node, o.Instance, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        var added = applications is null ? null : await applications(connection, transaction).ConfigureAwait(false);
        foreach (var group in rows.GroupBy(r => r.Granularity))
        {
            await UpsertRollupsAsync(connection, transaction, shape, shape.Table(group.Key), group.ToList(), cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (added is not null)
        {
            RememberApplications(added);
        }

        return true;
    }

    /// <summary>
    /// Whether <paramref name="instance"/> may write node <paramref name="node"/>'s rows, inside the write's transaction:
    /// unless another process holds the id (a row without an instance, or no row, is nobody's). Rows are whole values,
    /// so a second process under one id would replace the first one's counts with its own.
    /// </summary>
    private async Task<bool> HoldsNodeAsync(DbConnection connection, DbTransaction transaction, string node, string instance, CancellationToken cancellationToken)
    {
        var holder = await ScalarAsync(connection, transaction, SelectNodeInstanceSql, cancellationToken, ("id", node)).ConfigureAwait(false);
        return holder is not string held || held == instance;
    }

    /// <summary>Reads the process that holds a node id inside a usage write (PostgreSQL locks the row, so no claim passes meanwhile).</summary>
    protected virtual string SelectNodeInstanceSql => "SELECT instance FROM nodes WHERE id = @id";

    /// <summary>
    /// Writes a store-backed node's request rows (<see cref="WriteAsync"/>) only while <paramref name="instance"/> holds
    /// node id <paramref name="node"/>, checked in the write's transaction; false (nothing written) when another does.
    /// </summary>
    internal Task<bool> WriteAsOwnerAsync(string node, string instance, IReadOnlyList<UsageRow> rows, CancellationToken cancellationToken = default) =>
        WriteRollupsAsync(RequestRollups, InTotalsOrder(rows), cancellationToken, (connection, transaction) => RecordApplicationsAsync(connection, transaction, rows, cancellationToken), (node, instance));

    /// <summary>A node's own rows in <paramref name="buckets"/> (read back at its start, to go on counting from them).</summary>
    private async Task<IReadOnlyList<T>> LoadRollupsAsync<T>(RollupShape<T> shape, string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken)
        where T : RollupRow
    {
        var result = new List<T>();
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var group in buckets.GroupBy(b => b.Granularity))
        {
            var wanted = group.Select(b => b.Bucket).ToHashSet();
            await using var command = Command(connection, null,
                $"SELECT {shape.Columns} FROM {shape.Table(group.Key)} WHERE bucket >= @from AND bucket <= @to AND node = @node",
                ("from", wanted.Min()), ("to", wanted.Max()), ("node", node));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var row = shape.Read(reader, group.Key);
                if (wanted.Contains(row.Bucket))
                {
                    result.Add(row);
                }
            }
        }

        return result;
    }

    private async Task<int> DeleteRollupsBeforeAsync(string table, long before, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await DeleteRowsBeforeAsync(connection, table, before, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes the rows of <paramref name="table"/> with a bucket before <paramref name="before"/> (retention). Default: one
    /// statement, for a database whose writers lock rows, not the database (PostgreSQL: nobody else writes rows that old).
    /// </summary>
    protected virtual Task<int> DeleteRowsBeforeAsync(DbConnection connection, string table, long before, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, null, $"DELETE FROM {table} WHERE bucket < @before", cancellationToken, ("before", before));

    public Task WriteAsync(IReadOnlyList<UsageRow> rows, CancellationToken cancellationToken = default) =>
        WriteRollupsAsync(RequestRollups, InTotalsOrder(rows), cancellationToken, (connection, transaction) => RecordApplicationsAsync(connection, transaction, rows, cancellationToken));

    // What this process knows usage_applications holds (after a commit): each application's first and last week. A flush
    // every few seconds names the same applications in the same week again, and these need no statement. Bounded: past
    // the limit it starts over.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long First, long Last)> _recordedApplications = new(StringComparer.Ordinal);
    private const int RecordedApplicationsLimit = 100_000;

    /// <summary>
    /// Records in <c>usage_applications</c> (migration 15), the list a ranking of applications goes through, each
    /// application of <paramref name="rows"/> with the first and last week it has usage in, widened when these rows go
    /// beyond them. In the transaction that writes the rows, before them (so before any week total is locked), in
    /// application order (so two writers never wait for each other in a circle). Returns what was written, to be
    /// remembered once the transaction commits.
    /// </summary>
    private async Task<List<(string Application, long First, long Last)>> RecordApplicationsAsync(
        DbConnection connection, DbTransaction transaction, IEnumerable<UsageRow> rows, CancellationToken cancellationToken)
    {
        var weeks = new Dictionary<string, (long First, long Last)>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var application = Text(row.Key.Application);
            if (application == UsageKey.AllApplications)
            {
                continue;
            }

            var week = UsageWeeks.Start(Math.Max(0, row.Bucket));
            weeks[application] = weeks.TryGetValue(application, out var seen) ? (Math.Min(seen.First, week), Math.Max(seen.Last, week)) : (week, week);
        }

        var changed = weeks
            .Where(w => !_recordedApplications.TryGetValue(w.Key, out var known) || w.Value.First < known.First || w.Value.Last > known.Last)
            .Select(w => (Application: w.Key, w.Value.First, w.Value.Last))
            .OrderBy(w => w.Application, StringComparer.Ordinal).ToList();
        const int PerStatement = 300;
        for (var start = 0; start < changed.Count; start += PerStatement)
        {
            var count = Math.Min(PerStatement, changed.Count - start);
            var values = string.Join(", ", Enumerable.Range(0, count).Select(i => $"(@a{i}, @f{i}, @l{i})"));
            var parameters = new List<(string, object?)>(count * 3);
            for (var i = 0; i < count; i++)
            {
                var (application, first, last) = changed[start + i];
                parameters.Add(($"a{i}", application));
                parameters.Add(($"f{i}", first));
                parameters.Add(($"l{i}", last));
            }

            await ExecuteAsync(connection, transaction,
                $"""
                INSERT INTO usage_applications (application, first_week, last_week) VALUES {values}
                ON CONFLICT (application) DO UPDATE SET
                    first_week = CASE WHEN excluded.first_week < usage_applications.first_week THEN excluded.first_week ELSE usage_applications.first_week END,
                    last_week = CASE WHEN excluded.last_week > usage_applications.last_week THEN excluded.last_week ELSE usage_applications.last_week END
                WHERE excluded.first_week < usage_applications.first_week OR excluded.last_week > usage_applications.last_week
                """,
                cancellationToken, [.. parameters]).ConfigureAwait(false);
        }

        return changed;
    }

    private void RememberApplications(List<(string Application, long First, long Last)> written)
    {
        if (_recordedApplications.Count + written.Count > RecordedApplicationsLimit)
        {
            _recordedApplications.Clear();
        }

        foreach (var (application, first, last) in written)
        {
            // Bounds only widen; a concurrent flush of this process may have widened them the other way meanwhile.
            _recordedApplications.AddOrUpdate(application, (first, last), (_, known) => (Math.Min(first, known.First), Math.Max(last, known.Last)));
        }
    }

    /// <summary>
    /// Rows in the order of the week totals their day rows change (week, application, status): the triggers of migration 11
    /// lock those totals row by row, and writers that take shared rows in one order never wait for each other in a circle
    /// (on PostgreSQL, several nodes write at once). The applications of <see cref="RecordApplicationsAsync"/> are taken
    /// before any of them, in their own order.
    /// </summary>
    private static List<UsageRow> InTotalsOrder(IEnumerable<UsageRow> rows) =>
        [.. rows.OrderBy(r => UsageWeeks.Start(r.Bucket)).ThenBy(r => r.Key.Application, StringComparer.Ordinal).ThenBy(r => r.Key.Status)];

    /// <summary>
    /// Applies one usage upload of a hybrid data node exactly once: its request and model-usage rows (whole values, the node's own) and its sequence
    /// in one transaction, only when <paramref name="sequence"/> is newer than the node's last applied one. Returns false
    /// for a repeat (already applied, or older): nothing is written, and the node may forget it.
    /// </summary>
    public async Task<bool> ApplyNodeUsageAsync(string node, long sequence, IReadOnlyList<UsageRow> rows, IReadOnlyList<AiUsageRow>? modelRows = null, CancellationToken cancellationToken = default) =>
        await ApplyNodeUsageAsync(node, null, sequence, rows, modelRows, cancellationToken).ConfigureAwait(false) ?? false;

    /// <summary>
    /// <see cref="ApplyNodeUsageAsync(string, long, IReadOnlyList{UsageRow}, IReadOnlyList{AiUsageRow}?, CancellationToken)"/>
    /// sent by process <paramref name="instance"/> (when the node names it): null, with nothing written, when another
    /// process holds the node id.
    /// </summary>
    internal async Task<bool?> ApplyNodeUsageAsync(string node, string? instance, long sequence, IReadOnlyList<UsageRow> rows, IReadOnlyList<AiUsageRow>? modelRows, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        ArgumentNullException.ThrowIfNull(rows);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // The usage write lock of the database (SQLite: the one writer; PostgreSQL: a row lock on the node's sequence below).
        await using var transaction = await BeginUsageWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "INSERT INTO node_usage_uploads (node, sequence) VALUES (@node, 0) ON CONFLICT (node) DO NOTHING", cancellationToken, ("node", node))
            .ConfigureAwait(false);
        var last = ToLong(await ScalarAsync(connection, transaction, SelectUploadSequenceSql, cancellationToken, ("node", node)).ConfigureAwait(false));
        if (sequence <= last)
        {
            return false;
        }

        if (instance is not null && !await HoldsNodeAsync(connection, transaction, node, instance, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var mine = InTotalsOrder(rows.Where(r => r.Node == node));
        var added = await RecordApplicationsAsync(connection, transaction, mine, cancellationToken).ConfigureAwait(false);
        foreach (var group in mine.GroupBy(r => r.Granularity))
        {
            await UpsertRollupsAsync(connection, transaction, RequestRollups, Table(group.Key), group.ToList(), cancellationToken).ConfigureAwait(false);
        }

        foreach (var group in (modelRows ?? []).Where(r => r.Node == node).GroupBy(r => r.Granularity))
        {
            await UpsertRollupsAsync(connection, transaction, ModelRollups, ModelRollups.Table(group.Key), group.ToList(), cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAsync(connection, transaction, "UPDATE node_usage_uploads SET sequence = @sequence WHERE node = @node", cancellationToken, ("node", node), ("sequence", sequence))
            .ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        RememberApplications(added);
        return true;
    }

    /// <summary>Reads a node's last applied upload sequence inside the upload's transaction (PostgreSQL locks the row).</summary>
    protected virtual string SelectUploadSequenceSql => "SELECT sequence FROM node_usage_uploads WHERE node = @node";

    public Task<IReadOnlyList<UsageRow>> LoadAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default) =>
        LoadRollupsAsync(RequestRollups, node, buckets, cancellationToken);

    public Task<int> DeleteBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default) =>
        DeleteRollupsBeforeAsync(Table(granularity), before, cancellationToken);

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

    public async Task<IReadOnlyList<UsageAggregate>> AggregateUsageAsync(
        UsageRowQuery query, IReadOnlyList<string> groupBy, bool byBucket, bool histograms, IReadOnlyList<string[]>? onlyGroups = null, CancellationToken cancellationToken = default, bool countsOnly = false)
    {
        ArgumentNullException.ThrowIfNull(query);
        var columns = groupBy.Select(DimensionSql).ToList();
        var (where, parameters) = Where(query);
        // Each dimension keeps the values the wanted groups have (flat IN lists: a chain of ORs per group grows deeper than
        // SQLite parses); that reads the groups' cross product at most, and the exact groups are picked below.
        HashSet<string>? wanted = null;
        if (onlyGroups is { Count: > 0 })
        {
            wanted = onlyGroups.Select(g => string.Join('\u0001', g)).ToHashSet(StringComparer.Ordinal);
            for (var d = 0; d < columns.Count; d++)
            {
                var values = onlyGroups.Select(g => g[d]).Distinct(StringComparer.Ordinal).ToList();
                where.Append(" AND ").Append(columns[d]).Append(" IN (");
                for (var v = 0; v < values.Count; v++)
                {
                    var name = $"g{d}_{v}";
                    where.Append(v == 0 ? "@" : ", @").Append(name);
                    parameters.Add((name, groupBy[d] is "status" or "statusClass" ? int.Parse(values[v].TrimEnd('x'), System.Globalization.CultureInfo.InvariantCulture) : Text(values[v])));
                }

                where.Append(')');
            }
        }

        var keys = (byBucket ? ["bucket"] : new List<string>()).Concat(columns).ToList();
        var head = string.Join(", ", new[] { byBucket ? "bucket" : "0" }.Concat(columns));
        var table = Table(query.Granularity);
        var groupSql = keys.Count == 0 ? "" : " GROUP BY " + string.Join(", ", keys);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var ranking = countsOnly && !histograms && onlyGroups is null && CoveredRanking(query, groupBy, byBucket);
        var segments = ranking ? UsageWeeks.Segments(query.Granularity, query.From, query.To) : null;
        var perApplication = ranking && groupBy is ["application"];
        if (segments is not null && (perApplication || segments.Count > 1))
        {
            if (segments.Count == 0)
            {
                return [];
            }

            (var rankingSql, parameters) = perApplication ? PerApplicationRankingSql(query, segments) : SegmentRankingSql(query, columns, segments);
            await using var rankingCommand = Command(connection, null, rankingSql, [.. parameters]);
            await using var rankingReader = await rankingCommand.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var ranked = new List<UsageAggregate>();
            while (await rankingReader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var group = new string[columns.Count];
                for (var d = 0; d < columns.Count; d++)
                {
                    group[d] = GroupValue(rankingReader, groupBy[d], 1 + d);
                }

                ranked.Add(new UsageAggregate(0, group, Long(rankingReader, 1 + columns.Count), 0, 0, 0, 0, 0));
            }

            return ranked;
        }

        var hint = ranking ? await RankingHintAsync(connection, table, query, cancellationToken).ConfigureAwait(false) : "";
        var sql = histograms
            ? $"SELECT {head}, count, CASE WHEN status >= 500 THEN count ELSE 0 END, CASE WHEN status >= 400 AND status < 500 THEN count ELSE 0 END, bytes_in, bytes_out, latency_sum, histogram FROM {table}{where}"
            : countsOnly
                ? $"SELECT {head}, SUM(count), 0, 0, 0, 0, 0 FROM {table}{hint}{where}{groupSql}"
                : $"SELECT {head}, SUM(count), SUM(CASE WHEN status >= 500 THEN count ELSE 0 END), SUM(CASE WHEN status >= 400 AND status < 500 THEN count ELSE 0 END), "
                  + $"SUM(bytes_in), SUM(bytes_out), SUM(latency_sum) FROM {table}{where}{groupSql}";

        var merged = new Dictionary<(long Bucket, string Group), Sum>();
        var result = new List<UsageAggregate>();
        await using var command = Command(connection, null, sql, [.. parameters]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var width = columns.Count;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var bucket = reader.IsDBNull(0) ? 0 : reader.GetInt64(0);
            var group = width == 0 ? [] : new string[width];
            for (var d = 0; d < width; d++)
            {
                group[d] = GroupValue(reader, groupBy[d], 1 + d);
            }

            var id = width == 0 ? "" : width == 1 ? group[0] : string.Join('\u0001', group);
            if (wanted is not null && !wanted.Contains(id))
            {
                continue;
            }

            var at = 1 + width;
            if (!histograms)
            {
                result.Add(new UsageAggregate(bucket, group, Long(reader, at), Long(reader, at + 1), Long(reader, at + 2), Long(reader, at + 3), Long(reader, at + 4), Long(reader, at + 5)));
                continue;
            }

            ref var sum = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(merged, (bucket, id), out _);
            sum ??= new Sum(bucket, group);
            sum.Count += reader.GetInt64(at);
            sum.Errors += reader.GetInt64(at + 1);
            sum.ClientErrors += reader.GetInt64(at + 2);
            sum.BytesIn += reader.GetInt64(at + 3);
            sum.BytesOut += reader.GetInt64(at + 4);
            sum.LatencySum += reader.GetInt64(at + 5);
            sum.Histogram.MergeBytes(reader.GetFieldValue<byte[]>(at + 6));
        }

        return histograms
            ? [.. merged.Values.Select(m => new UsageAggregate(m.Bucket, m.Group, m.Count, m.Errors, m.ClientErrors, m.BytesIn, m.BytesOut, m.LatencySum) { Histogram = m.Histogram })]
            : result;
    }

    private static string GroupValue(DbDataReader reader, string dimension, int ordinal) => dimension switch
    {
        "statusClass" => reader.GetInt64(ordinal).ToString(System.Globalization.CultureInfo.InvariantCulture) + "xx",
        "status" => reader.GetInt64(ordinal).ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => reader.GetString(ordinal),
    };

    private static (string Table, string Column) Source(UsageLevel level) => level switch
    {
        UsageLevel.Minute => (Table(UsageGranularity.Minute), "bucket"),
        UsageLevel.Hour => (Table(UsageGranularity.Hour), "bucket"),
        UsageLevel.Day => (Table(UsageGranularity.Day), "bucket"),
        _ => ("usage_week_totals", "week"),
    };

    /// <summary>
    /// The parts of a ranking's range (<see cref="UsageWeeks.Segments"/>) as SQL, each made by <paramref name="part"/> from
    /// its table, its range condition and the query's status filter; their values go into <paramref name="parameters"/>.
    /// </summary>
    private static List<string> RankingParts(UsageRowQuery query, List<(UsageLevel Level, long From, long To)> segments, List<(string, object?)> parameters, Func<string, string, string, string> part)
    {
        var status = new StringBuilder();
        StatusFilter(status, parameters, query);
        var parts = new List<string>(segments.Count);
        for (var i = 0; i < segments.Count; i++)
        {
            var (level, from, to) = segments[i];
            var (table, column) = Source(level);
            parameters.Add(($"s{i}f", from));
            parameters.Add(($"s{i}t", to));
            parts.Add(part(table, $"{column} >= @s{i}f AND {column} < @s{i}t", status.ToString()));
        }

        return parts;
    }

    /// <summary>
    /// A ranking of applications by application alone, one application at a time: for each application that has ever had
    /// usage (<c>usage_applications</c>, migration 15), the sum of a correlated subquery per part of the range, each a seek
    /// into a covering (application, bucket or week, status, count) index. Its work grows with the applications and the
    /// parts, not with the rows of the range, and no temporary B-tree sorts them (issue 19's dense store: the top ten of 24
    /// hours in 42–58 ms on SQLite instead of 0.30–0.35 s; docs/benchmarks.md). Applications without rows in the range come
    /// back with 0, and the caller drops them.
    /// </summary>
    private static (string Sql, List<(string, object?)> Parameters) PerApplicationRankingSql(UsageRowQuery query, List<(UsageLevel Level, long From, long To)> segments)
    {
        var parameters = new List<(string, object?)>();
        var sums = RankingParts(query, segments, parameters,
            (table, range, status) => $"(SELECT COALESCE(SUM(count), 0) FROM {table} WHERE application = a.application AND {range}{status})");
        // Only the applications with usage in the range's weeks: a store that has seen many applications ranks a short range
        // by the few that were busy in it.
        parameters.Add(("wf", UsageWeeks.Start(Math.Max(0, query.From))));
        parameters.Add(("wt", UsageWeeks.Start(Math.Max(0, query.To - 1))));
        return ($"SELECT 0, a.application, {string.Join(" + ", sums)} FROM usage_applications a WHERE a.last_week >= @wf AND a.first_week <= @wt", parameters);
    }

    /// <summary>
    /// A ranking of applications by more than the application (by status or status class too) over a range of more than
    /// one part: the parts' rows in one union, added up per group. For 90 days that adds up at most 13 weeks and 12 days a
    /// group instead of 90 days (or 2,160 hours).
    /// </summary>
    private static (string Sql, List<(string, object?)> Parameters) SegmentRankingSql(UsageRowQuery query, List<string> columns, List<(UsageLevel Level, long From, long To)> segments)
    {
        var parameters = new List<(string, object?)> { ("all", UsageKey.AllApplications) };
        var parts = RankingParts(query, segments, parameters,
            (table, range, status) => $"SELECT application, status, count FROM {table} WHERE {range} AND application <> @all{status}");
        var keys = string.Join(", ", columns);
        return ($"SELECT 0, {keys}, SUM(count) FROM ({string.Join(" UNION ALL ", parts)}) ranked GROUP BY {keys}", parameters);
    }

    private sealed class Sum(long bucket, string[] group)
    {
        public long Bucket { get; } = bucket;

        public string[] Group { get; } = group;

        public long Count;
        public long Errors;
        public long ClientErrors;
        public long BytesIn;
        public long BytesOut;
        public long LatencySum;
        public readonly LatencyHistogram Histogram = new();
    }

    // SUM of nothing is NULL; PostgreSQL's SUM of bigint is numeric.
    private static long Long(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? 0 : Convert.ToInt64(reader.GetValue(ordinal), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The SQL of a dimension; the names come from a fixed list, never from a request.</summary>
    private static string DimensionSql(string dimension) => dimension switch
    {
        "application" or "plan" or "operation" or "node" or "status" => dimension,
        "statusClass" => "(status / 100)",
        _ => throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "not a usage dimension"),
    };

    /// <summary>
    /// SQL after the table name that steers a ranking of applications (totals by application over a time range, no
    /// filter but status) onto the covering (application, bucket, status, count) index when that is the cheaper read;
    /// "" when the database's own planner is trusted with it.
    /// </summary>
    protected virtual Task<string> RankingHintAsync(DbConnection connection, string table, UsageRowQuery query, CancellationToken cancellationToken) =>
        Task.FromResult("");

    /// <summary>True for a ranking the covering application index answers alone: by application, filtered at most by status.</summary>
    protected static bool CoveredRanking(UsageRowQuery query, IReadOnlyList<string> groupBy, bool byBucket) =>
        !byBucket && !query.AllApplications && query.Applications is not { Count: > 0 } && query.Plans is not { Count: > 0 }
        && query.Operations is not { Count: > 0 } && query.Nodes is not { Count: > 0 }
        && groupBy.Contains("application") && groupBy.All(d => d is "application" or "status" or "statusClass");

    private static (StringBuilder Where, List<(string, object?)> Parameters) Where(UsageRowQuery query)
    {
        var sql = new StringBuilder(" WHERE bucket >= @from AND bucket < @to");
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
        StatusFilter(sql, parameters, query);
        return (sql, parameters);
    }

    private static void StatusFilter(StringBuilder sql, List<(string, object?)> parameters, UsageRowQuery query)
    {
        In(sql, parameters, "status", query.Statuses?.Select(s => (object)s).ToList());
        if (query.StatusClasses is { Count: > 0 } classes)
        {
            sql.Append(" AND (status / 100) IN (");
            for (var i = 0; i < classes.Count; i++)
            {
                sql.Append(i == 0 ? "@class" : ", @class").Append(i);
                parameters.Add(($"class{i}", classes[i]));
            }

            sql.Append(')');
        }
    }

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
