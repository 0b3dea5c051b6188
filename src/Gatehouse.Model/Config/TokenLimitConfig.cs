using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// A limit on the model tokens a plan's applications use through <c>ai</c> services, written
/// <c>{ tokens: 100000, per: day }</c>. Each application has its own budget (the anonymous plan's callers share one).
/// </summary>
/// <remarks>
/// Counts come from the provider's usage (the gateway asks for it on streams), or where a call ends without it (a stream
/// cut short) from counting the prompt and the text relayed with o200k_base, marked estimated. A call is admitted only
/// while its estimate fits what is left of every budget it counts against: its prompt (counted by the gateway) plus
/// <c>max_tokens</c> (or <c>max_completion_tokens</c>; 1,024 when it sets neither). That estimate is reserved at once, so
/// concurrent calls cannot overspend, and replaced by the real count when the call ends, however it ends. A call that
/// spans the end of a window counts in the window it ends in. Windows are fixed and aligned to UTC, as for
/// <c>limits</c>.
/// </remarks>
[ListRules(typeof(Loading.TokenLimitRules))]
public sealed record TokenLimitConfig
{
    /// <summary>Tokens allowed per window.</summary>
    [RequiredKey("how many tokens the limit allows per window, e.g. 'tokens: 100000'")]
    [Minimum(1)]
    public required long Tokens { get; init; }

    /// <summary>The window: <c>second</c>, <c>minute</c>, <c>hour</c>, <c>day</c> or <c>month</c>, aligned to UTC.</summary>
    [RequiredKey("one of second, minute, hour, day, month")]
    public required LimitPeriod Per { get; init; }

    /// <summary>Which tokens count: <c>prompt</c> (input), <c>completion</c> (output) or <c>total</c>.</summary>
    public TokenCount Count { get; init; } = TokenCount.Total;

    /// <summary>Only calls of this model alias count against the limit; others are not limited by it.</summary>
    [DocType("model alias")]
    [DefaultText("every alias")]
    public string? Model { get; init; }

    /// <summary>
    /// <c>cluster</c>: every node sharing the counter engine counts against one budget per application, as <c>sync</c>
    /// says; <c>node</c>: each node counts by itself.
    /// </summary>
    [DefaultText("`cluster` when the nodes share a counter engine (Redis, or a PostgreSQL store), else `node`")]
    public LimitScope? Scope { get; init; }

    /// <summary>
    /// For <c>scope: cluster</c>: <c>strict</c> admits a call only from tokens this node has leased from the counter engine,
    /// so concurrent calls on different nodes cannot together pass the limit (beyond what calls use over their estimate);
    /// <c>fast</c> counts on each node and syncs every <c>gateway.limits.syncInterval</c>, never waiting for the engine, and
    /// may go over by what the nodes had not yet learnt of each other (docs/ai.md gives both bounds).
    /// </summary>
    public LimitSync Sync { get; init; } = LimitSync.Strict;

    /// <summary>
    /// For <c>sync: strict</c>: how many tokens a node leases from the engine at a time (more when one call's estimate needs
    /// more). Larger leases call the engine less often; the cluster can use up to nodes × lease fewer tokens than the limit.
    /// </summary>
    [Minimum(1)]
    [DefaultText("2% of `tokens`, at least 1")]
    public long? Lease { get; init; }

    /// <summary>For <c>scope: cluster</c>: what a node does while the counter engine does not answer.</summary>
    public EngineDownAction OnEngineDown { get; init; } = EngineDownAction.Share;

    /// <summary>
    /// A plan's spend limit in the token limiter's form (<see cref="SpendLimitConfig.AsTokenLimit"/>): <see cref="Tokens"/>
    /// are then billionths of the currency, and a call counts its cost, not its tokens.
    /// </summary>
    [NotConfig]
    public bool CountsCost { get; init; }

    /// <summary>The lease size used: <see cref="Lease"/>, or 2% of <see cref="Tokens"/> (at least 1).</summary>
    [NotConfig]
    public long EffectiveLease => Lease ?? Math.Max(1, Tokens / 50);
}

/// <summary>Which of a call's tokens a token limit counts.</summary>
public enum TokenCount
{
    /// <summary>The prompt (input) tokens.</summary>
    Prompt,
    /// <summary>The completion (output) tokens.</summary>
    Completion,
    /// <summary>Prompt and completion.</summary>
    Total,
}
