using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Access;

/// <summary>The compiled form of one application.</summary>
internal sealed class ApplicationModel(string id, string account, PlanModel plan, ApplicationState state)
{
    /// <summary>The application id: what services get in <c>Gatehouse-Application</c>, and what limits count under.</summary>
    public string Id { get; } = id;

    public string Account { get; } = account;

    public PlanModel Plan { get; } = plan;

    public ApplicationState State { get; } = state;

    /// <summary>Addresses this application may call from (a config application's <c>ipFilter</c>, which replaces its plan's); null for any.</summary>
    public Policies.IpFiltering.IpFilter? IpFilter { get; init; }

    /// <summary>
    /// Addresses a portal application's owner allows its credentials from, checked as well as the plan's filter (an
    /// owner can only narrow what the plan allows); null for any.
    /// </summary>
    public Policies.IpFiltering.IpFilter? OwnerFilter { get; init; }

    /// <summary>Whether any address filter applies to this application's calls (its own, its plan's, its owner's).</summary>
    public bool HasAddressFilters => (IpFilter ?? Plan.IpFilter) is not null || OwnerFilter is not null;

    /// <summary>
    /// What refuses a call of this application from <paramref name="address"/> ("the plan 'x' IP filter", …), or null when
    /// every filter allows it: its <c>ipFilter</c> (else its plan's), then the addresses a portal application's owner
    /// allowed. The proxy and the service API both ask this, before any limit counts the call.
    /// </summary>
    public string? RefuseAddress(System.Net.IPAddress? address)
    {
        if ((IpFilter ?? Plan.IpFilter) is { } filter && !filter.Allows(address))
        {
            return IpFilter is not null ? $"the application '{Id}' IP filter" : $"the plan '{Plan.Name}' IP filter";
        }

        return OwnerFilter is { } owner && !owner.Allows(address) ? $"the addresses application '{Id}' is allowed to call from (set by its owner)" : null;
    }
}

/// <summary>One API key: whose it is and until when it works.</summary>
internal sealed class ApiKeyModel(ApplicationModel application, long expiresUtcTicks)
{
    public ApplicationModel Application { get; } = application;

    /// <summary><see cref="DateTime.MaxValue"/>'s ticks for a key that never expires.</summary>
    public long ExpiresUtcTicks { get; } = expiresUtcTicks;
}
