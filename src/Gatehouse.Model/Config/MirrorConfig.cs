using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// Shadow traffic: a copy of the route's requests (all, or a share) is sent to another service, whose answers are
/// read and dropped; the client's answer is the route's service's alone and never waits for the copy. For trying a
/// new version on real traffic. The copy carries the headers the route's service gets (with the mirror service's own
/// credential, never the route service's) and <c>Gatehouse-Mirror: ROUTE</c>. A request is mirrored only with a body
/// the gateway can keep whole (a declared length up to <c>maxBodySize</c>; the route's service then gets the body once
/// it is all in); WebSocket upgrades never.
/// </summary>
public sealed record MirrorConfig
{
    /// <summary>The service the copies go to (an HTTP service of <c>services</c>, not the route's own).</summary>
    [RequiredKey("the service the copies go to")]
    public required string Service { get; init; }

    /// <summary>The share of requests copied, in percent.</summary>
    [Minimum(0)]
    public int Percent { get; init; } = 100;

    /// <summary>The largest request body copied; a request with a larger body, or a chunked one, is not mirrored.</summary>
    [Size]
    public long MaxBodySize { get; init; } = 1024 * 1024;

    /// <summary>Copies in flight at once for this route; past it, copies are dropped (and counted), never queued.</summary>
    [Minimum(1)]
    public int MaxConcurrent { get; init; } = 64;
}
