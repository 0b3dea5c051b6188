using Gatehouse.Model.Usage;

namespace Gatehouse.Gateway.Observability;

/// <summary>
/// A node's model-usage rollups in memory: per minute, hour and day, keyed by (application, plan, alias, provider, provider
/// model), each holding calls, prompt and completion tokens, estimated calls and the cost in nano-units. The
/// <see cref="UsageAggregator"/> owns it and calls it under its lock, from its background loops only.
/// </summary>
/// <remarks>
/// Kept apart from the request rollups so that their hot path is untouched: a model call is one record among thousands of
/// requests, so each record goes straight into its three rows (no per-minute deltas by reference as requests need), and
/// there are no all-applications rows (a chart of every application adds up few rows).
/// </remarks>
internal sealed class AiUsageRollups(int maxRows)
{
    private static readonly UsageGranularity[] Granularities = [UsageGranularity.Minute, UsageGranularity.Hour, UsageGranularity.Day];

    private readonly Dictionary<RowKey, Rollup> _rows = [];
    private readonly RowKey[] _keys = new RowKey[3];

    /// <summary>Records dropped because the rows were at their bound.</summary>
    public long DroppedRecords { get; private set; }

    /// <summary>Rows held.</summary>
    public int Count => _rows.Count;

    /// <summary>Adds <paramref name="record"/> to its three rows, stamped at <paramref name="seconds"/>; false (dropped and counted) when they would pass the bound.</summary>
    public bool Add(in AiUsageRecord record, long seconds)
    {
        var key = new AiUsageKey(record.Application, record.Plan, record.Alias, record.Provider, record.Model);
        var keys = _keys;
        var needed = 0;
        for (var i = 0; i < Granularities.Length; i++)
        {
            keys[i] = new RowKey(Granularities[i], UsageBuckets.Start(Granularities[i], seconds), key);
            needed += _rows.ContainsKey(keys[i]) ? 0 : 1;
        }

        if (needed > 0 && _rows.Count + needed > maxRows)
        {
            DroppedRecords++;
            return false;
        }

        foreach (var k in keys)
        {
            ref var row = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_rows, k, out _);
            row ??= new Rollup();
            row.Add(1, record.PromptTokens, record.CompletionTokens, record.Estimated ? 1 : 0, record.CostNanos);
            row.Dirty = true;
        }

        return true;
    }

    /// <summary>Adds what the store held for this node (read back at start) to what was counted since.</summary>
    public void Seed(IEnumerable<AiUsageRow> stored)
    {
        foreach (var row in stored)
        {
            ref var rollup = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_rows, new RowKey(row.Granularity, row.Bucket, row.Key), out _);
            rollup ??= new Rollup();
            rollup.Add(row.Calls, row.PromptTokens, row.CompletionTokens, row.EstimatedCalls, row.CostNanos);
        }
    }

    /// <summary>The rows that changed since they were last taken, as whole values of <paramref name="node"/>'s rows.</summary>
    public List<AiUsageRow> TakeDirty(string node)
    {
        var batch = new List<AiUsageRow>();
        foreach (var (key, rollup) in _rows)
        {
            if (!rollup.Dirty)
            {
                continue;
            }

            rollup.Dirty = false;
            batch.Add(new AiUsageRow
            {
                Granularity = key.Granularity,
                Bucket = key.Bucket,
                Node = node,
                Key = key.Key,
                Calls = rollup.Calls,
                PromptTokens = rollup.Prompt,
                CompletionTokens = rollup.Completion,
                EstimatedCalls = rollup.Estimated,
                CostNanos = rollup.Cost,
            });
        }

        return batch;
    }

    /// <summary>Marks the rows of a batch that could not be written as changed again.</summary>
    public void MarkDirty(IEnumerable<AiUsageRow> batch)
    {
        foreach (var row in batch)
        {
            if (_rows.TryGetValue(new RowKey(row.Granularity, row.Bucket, row.Key), out var rollup))
            {
                rollup.Dirty = true;
            }
        }
    }

    /// <summary>Forgets written rows whose buckets closed more than their horizon before <paramref name="now"/>.</summary>
    public void Evict(long now, Func<UsageGranularity, long> horizon)
    {
        List<RowKey>? old = null;
        foreach (var (key, rollup) in _rows)
        {
            if (!rollup.Dirty && key.Bucket + UsageBuckets.Seconds(key.Granularity) < now - horizon(key.Granularity))
            {
                (old ??= []).Add(key);
            }
        }

        foreach (var key in old ?? [])
        {
            _rows.Remove(key);
        }
    }

    private readonly record struct RowKey(UsageGranularity Granularity, long Bucket, AiUsageKey Key);

    private sealed class Rollup
    {
        public long Calls;
        public long Prompt;
        public long Completion;
        public long Estimated;
        public long Cost;
        public bool Dirty;

        public void Add(long calls, long prompt, long completion, long estimated, long cost)
        {
            Calls += calls;
            Prompt += prompt;
            Completion += completion;
            Estimated += estimated;
            Cost += cost;
        }
    }
}
