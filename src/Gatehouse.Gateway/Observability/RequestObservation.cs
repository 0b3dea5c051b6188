using System.Diagnostics;
using Gatehouse.Gateway.Routing;

namespace Gatehouse.Gateway.Observability;

/// <summary>
/// What the request path learns about one request for the records made when it ends (usage, access log, span, metrics
/// labels). A request feature, set only when something records; each step fills in what it knows.
/// </summary>
internal sealed class RequestObservation
{
    public long StartTimestamp { get; init; }

    public string? RequestId { get; set; }

    public RouteModel? Route { get; set; }

    public string? Application { get; set; }

    public string? Plan { get; set; }

    public long BytesIn { get; set; }

    public long BytesOut { get; set; }

    /// <summary>The destination the (last) upstream attempt went to.</summary>
    public string? Upstream { get; set; }

    public int Steps { get; set; }

    public Activity? Activity { get; set; }
}
