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

    /// <summary>The request observed (its records are made from it when the response has ended).</summary>
    public Microsoft.AspNetCore.Http.HttpContext? Context { get; init; }

    /// <summary>The configuration the request began under.</summary>
    public Runtime.GatewaySnapshot? Snapshot { get; init; }

    /// <summary>The request's slot in the active requests gauge (<see cref="RequestMetrics.Began"/>).</summary>
    public int ActiveSlot { get; set; }

    /// <summary>The handler's task, read when the response has ended for the exception it failed with, if any.</summary>
    public Task? Handling { get; set; }

    /// <summary>The type of the exception the handler threw before it returned a task; null otherwise.</summary>
    public string? Error { get; set; }

    /// <summary>Where upstream attempts are timed; null with metrics off.</summary>
    public RequestMetrics? Metrics { get; init; }

    public string? RequestId { get; set; }

    public RouteModel? Route { get; set; }

    public string? Application { get; set; }

    public string? Plan { get; set; }

    public long BytesIn { get; set; }

    public long BytesOut { get; set; }

    /// <summary>The destination the (last) upstream attempt went to.</summary>
    public string? Upstream { get; set; }

    public int Steps { get; set; }

    /// <summary>Why each retry was made, in order ("connect-failure,503"); null when the first attempt was the only one.</summary>
    public string? Retries { get; set; }

    /// <summary>Why a failed attempt was not retried ("the service's retry budget is spent"); null when none was refused.</summary>
    public string? NotRetried { get; set; }

    /// <summary>
    /// The HTTP status of the gateway's own answer when the response's status is not it: a refusal of a gRPC call is
    /// sent as 200 with a <c>grpc-status</c>, and is recorded (usage, metrics, access log, trace) as the 401 or 429 it is.
    /// </summary>
    public int? Status { get; set; }

    /// <summary>The server span; null when tracing is off or the trace was not sampled.</summary>
    public Activity? Activity { get; set; }

    /// <summary>The trace context the upstream gets: the server span's, or the not-sampled one made in its place; default when tracing is off.</summary>
    public ActivityContext Trace { get; set; }
}
