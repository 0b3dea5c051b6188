namespace Gatehouse.Model.Usage;

/// <summary>One model-usage rollup row as the store keeps it: one node's totals for one <see cref="AiUsageKey"/> in one time bucket.</summary>
public sealed record AiUsageRow : RollupRow
{
    public required AiUsageKey Key { get; init; }

    /// <summary>Model calls that a provider answered (a call no provider answered uses nothing and is not counted here).</summary>
    public required long Calls { get; init; }

    /// <summary>Prompt (input) tokens.</summary>
    public long PromptTokens { get; init; }

    /// <summary>Completion (output) tokens.</summary>
    public long CompletionTokens { get; init; }

    /// <summary>Calls whose tokens are the gateway's estimate, because the provider's usage never came (a cut stream).</summary>
    public long EstimatedCalls { get; init; }

    /// <summary>
    /// The cost at the answering model's <c>price</c>, in billionths (10⁻⁹) of the prices' currency: an integer, so that sums
    /// over calls, buckets and nodes are exact (<see cref="AiCost"/>). 0 for models without a price.
    /// </summary>
    public long CostNanos { get; init; }
}
