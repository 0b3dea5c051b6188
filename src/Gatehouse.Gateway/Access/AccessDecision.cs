using Gatehouse.Gateway.Limiting;

namespace Gatehouse.Gateway.Access;

/// <summary>The verdict of the decision engine.</summary>
internal enum AccessVerdict
{
    Allowed,
    /// <summary>401: no credential where one is needed, or one that identifies nobody.</summary>
    Unauthenticated,
    /// <summary>403: the plan does not grant the operation with this access, the application is not live, or its token lacks a required scope.</summary>
    Forbidden,
    /// <summary>429: a rate limit or quota is full.</summary>
    Limited,
}

/// <summary>What the decision engine decided, and everything needed to say why.</summary>
internal readonly record struct AccessDecision
{
    public required AccessVerdict Verdict { get; init; }

    /// <summary>The plan that decided; null when the caller has none (unauthenticated).</summary>
    public PlanModel? Plan { get; init; }

    public ApplicationModel? Application { get; init; }

    /// <summary>The limits' decision; <c>Set</c> is null when no limit was checked.</summary>
    public LimitDecision Limits { get; init; }

    /// <summary>A stable reason code: <c>missing_credential</c>, <c>invalid_credential</c>, <c>not_granted</c>, <c>insufficient_scope</c>, <c>application_pending</c>, <c>application_suspended</c>, <c>rate_limited</c>, <c>quota_exceeded</c>; null when allowed.</summary>
    public string? Reason { get; init; }

    /// <summary>A sentence for people.</summary>
    public string? Detail { get; init; }

    /// <summary>A refusal a shadow-mode rule let through (its reason code), or null.</summary>
    public string? Shadowed { get; init; }

    public bool IsAllowed => Verdict == AccessVerdict.Allowed;
}
