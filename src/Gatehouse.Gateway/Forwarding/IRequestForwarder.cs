using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Upstreams;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Forwarding;

/// <summary>
/// Sends one admitted request to one destination and streams the answer back. Two implementations exist only while
/// issue 25 decides between them by measurement (<c>GATEHOUSE_FORWARDER=yarp</c> picks YARP's); one of them goes.
/// </summary>
internal interface IRequestForwarder
{
    /// <summary>Forwards the request; the caller has begun it on the upstream, and it is ended here on every path.</summary>
    Task ForwardAsync(HttpContext context, RouteModel route, Destination destination, string pathAndQuery, string requestId, bool fromTrustedProxy, Admission admission = default);
}
