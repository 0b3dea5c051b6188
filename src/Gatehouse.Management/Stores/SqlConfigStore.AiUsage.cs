using System.Data.Common;
using System.Text;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Stores;

// Model usage rollups (issue 22): tokens and cost of model calls, written by each node's aggregator beside the request
// rollups, read by GET /admin/analytics/ai. See docs/observability.md.
internal abstract partial class SqlConfigStore
{
    // Rows per INSERT statement: 12 parameters each, as for the request rollups.
    private const int AiRowsPerStatement = 200;

    private const string AiColumns = "bucket, node, application, plan, alias, provider, model, calls, prompt_tokens, completion_tokens, estimated_calls, cost_nanos";

    // A node writes whole values of its own rows, so the newer row simply replaces the stored one.
    private const string AiOnConflict = " ON CONFLICT (bucket, application, plan, alias, provider, model, node) DO UPDATE SET calls = excluded.calls, "
        + "prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, estimated_calls = excluded.estimated_calls, cost_nanos = excluded.cost_nanos";

    private static string AiTable(UsageGranularity granularity) => granularity switch
    {
        UsageGranularity.Minute => "usage_ai_minute",
        UsageGranularity.Hour => "usage_ai_hour",
        UsageGranularity.Day => "usage_ai_day",
        _ => throw new ArgumentOutOfRangeException(nameof(granularity)),
    };

    public async Task WriteAiAsync(IReadOnlyList<AiUsageRow> rows, CancellationToken cancellationToken = default)
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
            var all = group.ToList();
            for (var start = 0; start < all.Count; start += AiRowsPerStatement)
            {
                var chunk = all.GetRange(start, Math.Min(AiRowsPerStatement, all.Count - start));
                var sql = new StringBuilder($"INSERT INTO {AiTable(group.Key)} ({AiColumns}) VALUES ");
                var parameters = new List<(string, object?)>(chunk.Count * 12);
                for (var i = 0; i < chunk.Count; i++)
                {
                    sql.Append(i == 0 ? "" : ", ").Append($"(@b{i}, @n{i}, @a{i}, @p{i}, @al{i}, @pr{i}, @m{i}, @c{i}, @pt{i}, @ct{i}, @e{i}, @co{i})");
                    var r = chunk[i];
                    var n = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    parameters.Add(("b" + n, r.Bucket));
                    parameters.Add(("n" + n, Text(r.Node)));
                    parameters.Add(("a" + n, Text(r.Key.Application)));
                    parameters.Add(("p" + n, Text(r.Key.Plan)));
                    parameters.Add(("al" + n, Text(r.Key.Alias)));
                    parameters.Add(("pr" + n, Text(r.Key.Provider)));
                    parameters.Add(("m" + n, Text(r.Key.Model)));
                    parameters.Add(("c" + n, r.Calls));
                    parameters.Add(("pt" + n, r.PromptTokens));
                    parameters.Add(("ct" + n, r.CompletionTokens));
                    parameters.Add(("e" + n, r.EstimatedCalls));
                    parameters.Add(("co" + n, r.CostNanos));
                }

                sql.Append(AiOnConflict);
                await ExecuteAsync(connection, transaction, sql.ToString(), cancellationToken, [.. parameters]).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<AiUsageRow>> LoadAiAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default)
    {
        var result = new List<AiUsageRow>();
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var group in buckets.GroupBy(b => b.Granularity))
        {
            var wanted = group.Select(b => b.Bucket).ToHashSet();
            await using var command = Command(connection, null,
                $"SELECT {AiColumns} FROM {AiTable(group.Key)} WHERE bucket >= @from AND bucket <= @to AND node = @node",
                ("from", wanted.Min()), ("to", wanted.Max()), ("node", node));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var row = new AiUsageRow
                {
                    Granularity = group.Key,
                    Bucket = reader.GetInt64(0),
                    Node = reader.GetString(1),
                    Key = new AiUsageKey(reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6)),
                    Calls = reader.GetInt64(7),
                    PromptTokens = reader.GetInt64(8),
                    CompletionTokens = reader.GetInt64(9),
                    EstimatedCalls = reader.GetInt64(10),
                    CostNanos = reader.GetInt64(11),
                };
                if (wanted.Contains(row.Bucket))
                {
                    result.Add(row);
                }
            }
        }

        return result;
    }

    public async Task<int> DeleteAiBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(connection, null, $"DELETE FROM {AiTable(granularity)} WHERE bucket < @before", cancellationToken, ("before", before)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<AiUsageAggregate>> AggregateAiUsageAsync(AiUsageQuery query, IReadOnlyList<string> groupBy, bool byBucket, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(groupBy);
        var columns = groupBy.Select(AiDimensionSql).ToList();
        var sql = new StringBuilder("SELECT ").Append(byBucket ? "bucket" : "0");
        foreach (var column in columns)
        {
            sql.Append(", ").Append(column);
        }

        sql.Append(", SUM(calls), SUM(prompt_tokens), SUM(completion_tokens), SUM(estimated_calls), SUM(cost_nanos) FROM ")
            .Append(AiTable(query.Granularity)).Append(" WHERE bucket >= @from AND bucket < @to");
        var parameters = new List<(string, object?)> { ("from", query.From), ("to", query.To) };
        In(sql, parameters, "application", query.Applications);
        In(sql, parameters, "plan", query.Plans);
        In(sql, parameters, "alias", query.Aliases);
        In(sql, parameters, "provider", query.Providers);
        In(sql, parameters, "model", query.Models);
        In(sql, parameters, "node", query.Nodes);
        var keys = (byBucket ? ["bucket"] : new List<string>()).Concat(columns).ToList();
        if (keys.Count > 0)
        {
            sql.Append(" GROUP BY ").Append(string.Join(", ", keys));
        }

        var result = new List<AiUsageAggregate>();
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, sql.ToString(), [.. parameters]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var group = new string[columns.Count];
            for (var d = 0; d < group.Length; d++)
            {
                group[d] = reader.GetString(1 + d);
            }

            var at = 1 + group.Length;
            var calls = Long(reader, at);
            if (calls == 0)
            {
                // SUM over no rows (no GROUP BY) is one row of NULLs.
                continue;
            }

            result.Add(new AiUsageAggregate(byBucket ? reader.GetInt64(0) : 0, group, calls, Long(reader, at + 1), Long(reader, at + 2), Long(reader, at + 3), Long(reader, at + 4)));
        }

        return result;
    }

    /// <summary>The SQL of a model-usage dimension; the names come from a fixed list, never from a request.</summary>
    private static string AiDimensionSql(string dimension) => dimension switch
    {
        "application" or "plan" or "alias" or "provider" or "model" or "node" => dimension,
        _ => throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "not a model-usage dimension"),
    };
}
