using System.Data.Common;
using System.Text;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Stores;

// Model usage rollups (issue 22): tokens and cost of model calls, written by each node's aggregator beside the request
// rollups, read by GET /admin/analytics/ai. See docs/observability.md.
internal abstract partial class SqlConfigStore
{
    // A node writes whole values of its own rows, so the newer row simply replaces the stored one.
    private static readonly RollupShape<AiUsageRow> ModelRollups = new(
        "usage_ai",
        "bucket, node, application, plan, alias, provider, model, calls, prompt_tokens, completion_tokens, estimated_calls, cost_nanos",
        ["b", "n", "a", "p", "al", "pr", "m", "c", "pt", "ct", "e", "co"],
        " ON CONFLICT (bucket, application, plan, alias, provider, model, node) DO UPDATE SET calls = excluded.calls, "
        + "prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, estimated_calls = excluded.estimated_calls, cost_nanos = excluded.cost_nanos",
        static (parameters, r, suffix) =>
        {
            parameters.Add(("b" + suffix, r.Bucket));
            parameters.Add(("n" + suffix, Text(r.Node)));
            parameters.Add(("a" + suffix, Text(r.Key.Application)));
            parameters.Add(("p" + suffix, Text(r.Key.Plan)));
            parameters.Add(("al" + suffix, Text(r.Key.Alias)));
            parameters.Add(("pr" + suffix, Text(r.Key.Provider)));
            parameters.Add(("m" + suffix, Text(r.Key.Model)));
            parameters.Add(("c" + suffix, r.Calls));
            parameters.Add(("pt" + suffix, r.PromptTokens));
            parameters.Add(("ct" + suffix, r.CompletionTokens));
            parameters.Add(("e" + suffix, r.EstimatedCalls));
            parameters.Add(("co" + suffix, r.CostNanos));
        },
        static (reader, granularity) => new AiUsageRow
        {
            Granularity = granularity,
            Bucket = reader.GetInt64(0),
            Node = reader.GetString(1),
            Key = new AiUsageKey(reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6)),
            Calls = reader.GetInt64(7),
            PromptTokens = reader.GetInt64(8),
            CompletionTokens = reader.GetInt64(9),
            EstimatedCalls = reader.GetInt64(10),
            CostNanos = reader.GetInt64(11),
        });

    public Task WriteAiAsync(IReadOnlyList<AiUsageRow> rows, CancellationToken cancellationToken = default) => WriteRollupsAsync(ModelRollups, rows, cancellationToken);

    /// <summary><see cref="WriteAiAsync"/> only while <paramref name="instance"/> holds node id <paramref name="node"/>; false (nothing written) when another process does.</summary>
    internal Task<bool> WriteAiAsOwnerAsync(string node, string instance, IReadOnlyList<AiUsageRow> rows, CancellationToken cancellationToken = default) =>
        WriteRollupsAsync(ModelRollups, rows, cancellationToken, owner: (node, instance));

    public Task<IReadOnlyList<AiUsageRow>> LoadAiAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default) =>
        LoadRollupsAsync(ModelRollups, node, buckets, cancellationToken);

    public Task<int> DeleteAiBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default) =>
        DeleteRollupsBeforeAsync(ModelRollups.Table(granularity), before, cancellationToken);

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
            .Append(ModelRollups.Table(query.Granularity)).Append(" WHERE bucket >= @from AND bucket < @to");
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
