using Gatehouse.Gateway.Policies.Caching;
using Gatehouse.Gateway.Policies.Cors;
using Gatehouse.Gateway.Policies.IpFiltering;
using Gatehouse.Gateway.Policies.Transforms;
using Gatehouse.Gateway.Policies.Validation;

namespace Gatehouse.Gateway.Policies;

/// <summary>
/// The compiled policies of one route, in their one fixed order (docs/policies.md): cors, ipFilter, (authentication,
/// plans, limits), compress, validate, cache, transform, then forward; response work in reverse. Built once per snapshot;
/// <see cref="Routing.RouteModel.Policies"/> is null for a route without any, so such a route runs none of this.
/// </summary>
internal sealed class RoutePolicies
{
    public CorsPolicy? Cors { get; init; }

    public IpFilter? IpFilter { get; init; }

    public Compression.CompressPolicy? Compress { get; init; }

    /// <summary>Translates gRPC-Web calls to gRPC and back (stage 4, before compress).</summary>
    public GrpcWeb.GrpcWebPolicy? GrpcWeb { get; init; }

    public RequestValidator? Validation { get; init; }

    /// <summary>The shadow check of the service's responses; null when the route has none.</summary>
    public ResponseValidator? ResponseValidation { get; init; }

    public CachePolicy? Cache { get; init; }

    public RequestTransform? RequestTransform { get; init; }

    public ResponseTransform? ResponseTransform { get; init; }

    /// <summary>The fixed answer given instead of forwarding (after validate, before cache); null when the route forwards.</summary>
    public Responding.RespondPolicy? Respond { get; init; }

    /// <summary>The route's path parameter names, in capture order (for <c>@request.path.NAME</c>).</summary>
    public required string[] Parameters { get; init; }

    /// <summary>
    /// True when every policy of the route acts on headers, the path or the query alone (CORS, an IP filter, header and
    /// target transforms): no stage awaits anything before the forwarder and nothing is left to do after it, so the
    /// request runs them inline, with no async method of their own (docs/policies.md, after "costs nothing").
    /// </summary>
    public bool HeadersOnly => Compress is null && GrpcWeb is null && Respond is null && Validation is null && ResponseValidation is null && Cache is null && ResponseTransform?.Body is null;
}
