using Gatehouse.Gateway.Limiting;

namespace Gatehouse.Gateway.Access;

/// <summary>
/// What the access steps hand to the forwarder for an admitted request: who it is (for the <c>Gatehouse-*</c>
/// headers), which credential header to keep from the service, and the limits to advertise on the response.
/// The default value is a request on a route without access steps.
/// </summary>
internal readonly record struct Admission(ApplicationModel? Application, PlanModel? Plan, LimitDecision Limits, string? StripHeader)
{
    /// <summary>Header telling services which application called; never taken from the client.</summary>
    public const string ApplicationHeader = "Gatehouse-Application";

    /// <summary>Header telling services which plan the call is on; never taken from the client.</summary>
    public const string PlanHeader = "Gatehouse-Plan";
}
