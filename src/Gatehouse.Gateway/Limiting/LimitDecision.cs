namespace Gatehouse.Gateway.Limiting;

/// <summary>
/// What <see cref="Limiter.Check(string, LimitSet, DateTimeOffset)"/> decided, with what the headers report.
/// A struct, so a check allocates nothing.
/// </summary>
internal readonly record struct LimitDecision
{
    /// <summary>False when an enforced limit is used up: answer 429. Shadow limits never make this false.</summary>
    public required bool Allowed { get; init; }

    /// <summary>The set that was checked (its <c>RateLimit-Policy</c> value).</summary>
    public required LimitSet Set { get; init; }

    /// <summary>
    /// The enforced policy the <c>RateLimit</c> header reports: when denied, the exhausted one that resets last;
    /// when allowed, the one with the fewest requests left (the longer reset on a tie). Null when none is enforced.
    /// </summary>
    public LimitPolicy? Policy { get; init; }

    /// <summary>Requests left in <see cref="Policy"/>'s window after this one.</summary>
    public long Remaining { get; init; }

    /// <summary>Seconds until <see cref="Policy"/>'s window ends.</summary>
    public int ResetSeconds { get; init; }

    /// <summary>When denied, seconds until every exhausted limit has rolled over (<c>Retry-After</c>); 0 when allowed.</summary>
    public int RetryAfterSeconds { get; init; }

    /// <summary>The first shadow policy that would have denied this request, which was let through; null when none would.</summary>
    public LimitPolicy? WouldDeny { get; init; }

    /// <summary>
    /// Set when a cluster limit's counter engine is down and this decision used the limit's <c>onEngineDown</c>; the
    /// <c>RateLimit</c> field then says so (<c>;fallback=share</c>).
    /// </summary>
    public Model.Config.EngineDownAction? Fallback { get; init; }

    /// <summary>
    /// Set (on a denied decision) when a strict cluster limit needs a new lease first: await it, then decide again. The
    /// task never faults; it ends within <c>gateway.limits.timeout</c>.
    /// </summary>
    public Task? Wait { get; init; }
}
