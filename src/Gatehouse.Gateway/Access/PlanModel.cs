using Gatehouse.Gateway.Limiting;

namespace Gatehouse.Gateway.Access;

/// <summary>The compiled form of one plan.</summary>
internal sealed class PlanModel(string name, int index, bool shadow, LimitSet limits, bool serverTiming = false)
{
    public string Name { get; } = name;

    /// <summary>Position in <see cref="AccessModel.Plans"/> and in every <see cref="AccessTarget"/>'s grant arrays.</summary>
    public int Index { get; } = index;

    /// <summary>Grant and application-state refusals are counted and logged, and the request let through.</summary>
    public bool Shadow { get; } = shadow;

    /// <summary>The plan-wide limits alone: what applies to a call the plan does not grant but lets through in shadow mode.</summary>
    public LimitSet Limits { get; } = limits;

    /// <summary>Compositions send this plan's callers <c>Server-Timing</c> (<c>plans.NAME.serverTiming</c>).</summary>
    public bool ServerTiming { get; } = serverTiming;

    /// <summary><c>plans.NAME.cache: false</c>: its callers bypass the response cache.</summary>
    public bool Cache { get; init; } = true;

    /// <summary>Origins allowed for this plan's callers on routes with a CORS policy; null for none.</summary>
    public Gatehouse.Model.Policies.CorsOrigin[]? CorsOrigins { get; init; }

    /// <summary>Addresses this plan's callers may call from; null for any.</summary>
    public Policies.IpFiltering.IpFilter? IpFilter { get; init; }

    /// <summary>The model aliases the plan may call (<c>plans.NAME.models</c>); null for every alias.</summary>
    public System.Collections.Frozen.FrozenSet<string>? Models { get; init; }
}
