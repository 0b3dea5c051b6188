using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// A limit on what a plan's applications spend on model calls, in the currency of the models' <c>price</c>s, written
/// <c>{ amount: 50, per: month }</c>. Each application has its own budget (the anonymous plan's callers share one).
/// </summary>
/// <remarks>
/// A call is admitted only while its most expensive outcome fits what is left: its prompt (counted by the gateway) and
/// <c>max_tokens</c> at the highest prices among the alias's provider models. That is reserved at once, so concurrent
/// calls cannot overspend, and replaced by the call's cost at the price of the provider model that answered it when the
/// call ends, however it ends. It is counted as token limits are (same windows, scopes, leases, kept across restarts),
/// in billionths of the currency (docs/ai.md).
/// </remarks>
[ListRules(typeof(Loading.SpendLimitRules))]
public sealed record SpendLimitConfig
{
    /// <summary>How much may be spent per window, in the currency of the prices (e.g. <c>50</c> or <c>0.25</c>).</summary>
    [RequiredKey("how much may be spent per window, in the currency of the models' prices, e.g. 'amount: 50'")]
    public required double Amount { get; init; }

    /// <summary>The window: <c>second</c>, <c>minute</c>, <c>hour</c>, <c>day</c> or <c>month</c>, aligned to UTC.</summary>
    [RequiredKey("one of second, minute, hour, day, month")]
    public required LimitPeriod Per { get; init; }

    /// <summary>Only calls of this model alias count against the limit; others are not limited by it.</summary>
    [DocType("model alias")]
    [DefaultText("every alias")]
    public string? Model { get; init; }

    /// <summary>As for token limits: <c>cluster</c> counts one budget per application across the nodes, <c>node</c> on each.</summary>
    [DefaultText("`cluster` when the nodes share a counter engine (Redis, or a PostgreSQL store), else `node`")]
    public LimitScope? Scope { get; init; }

    /// <summary>As for token limits: <c>strict</c> admits only from amounts leased from the counter engine, <c>fast</c> syncs.</summary>
    public LimitSync Sync { get; init; } = LimitSync.Strict;

    /// <summary>For <c>sync: strict</c>: how much a node leases from the engine at a time.</summary>
    [DefaultText("2% of `amount`")]
    public double? Lease { get; init; }

    /// <summary>For <c>scope: cluster</c>: what a node does while the counter engine does not answer.</summary>
    public EngineDownAction OnEngineDown { get; init; } = EngineDownAction.Share;

    /// <summary>The limit as the token limiter counts it: a token limit of billionths of the currency that counts cost.</summary>
    public TokenLimitConfig AsTokenLimit() => new()
    {
        Tokens = Usage.AiCost.NanosOf(Amount),
        Per = Per,
        Model = Model,
        Scope = Scope,
        Sync = Sync,
        Lease = Lease is { } lease ? Math.Max(1, Usage.AiCost.NanosOf(lease)) : null,
        OnEngineDown = OnEngineDown,
        CountsCost = true,
    };
}
