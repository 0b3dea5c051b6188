using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// The policies of a route (<c>routes.ID.policies</c>), or the defaults of every route of a service
/// (<c>services.NAME.policies</c>). Each policy a route writes replaces the service's default of that policy whole;
/// <c>enabled: false</c> switches a service's default off on one route. They apply in one fixed order (see
/// policies.md): cors, ipFilter, authentication and plans, grpcWeb, compress, validate, respond, cache, transform;
/// response work in reverse.
/// </summary>
public sealed record PoliciesConfig
{
    /// <summary>Cross-origin requests from browsers: preflights answered at the gateway (below).</summary>
    public CorsConfig? Cors { get; init; }

    /// <summary>Client addresses allowed or refused before anything else (below).</summary>
    public IpFilterConfig? IpFilter { get; init; }

    /// <summary>Translates gRPC-Web calls from browsers to gRPC for the service, and its answers back (below).</summary>
    public GrpcWebConfig? GrpcWeb { get; init; }

    /// <summary>Compresses responses for clients that accept it (below).</summary>
    public CompressConfig? Compress { get; init; }

    /// <summary>Checks requests against the operation's OpenAPI schemas (below). The route must be bound to an operation.</summary>
    public ValidationConfig? Validate { get; init; }

    /// <summary>Caches GET and HEAD responses (below).</summary>
    public CacheConfig? Cache { get; init; }

    /// <summary>Changes requests on the way to the service and responses on the way back (below).</summary>
    public TransformConfig? Transform { get; init; }

    /// <summary>Answers with a fixed response instead of calling the service (below).</summary>
    public RespondConfig? Respond { get; init; }
}

/// <summary>The policies a route has once its service's defaults are applied.</summary>
public static class EffectivePolicies
{
    /// <summary>
    /// Each policy the route writes replaces the service's default of that kind; a policy written with
    /// <c>enabled: false</c> is none. Null when the route ends up with no policy at all.
    /// </summary>
    public static PoliciesConfig? Of(PoliciesConfig? service, PoliciesConfig? route)
    {
        if (service is null && route is null)
        {
            return null;
        }

        var merged = new PoliciesConfig
        {
            Cors = Pick(route?.Cors, service?.Cors, c => c.Enabled),
            IpFilter = Pick(route?.IpFilter, service?.IpFilter, f => f.Enabled),
            GrpcWeb = Pick(route?.GrpcWeb, service?.GrpcWeb, g => g.Enabled),
            Compress = Pick(route?.Compress, service?.Compress, c => c.Enabled),
            Validate = route?.Validate ?? service?.Validate,
            Cache = Pick(route?.Cache, service?.Cache, c => c.Enabled),
            Transform = Pick(route?.Transform, service?.Transform, t => t.Enabled),
            Respond = Pick(route?.Respond, service?.Respond, r => r.Enabled),
        };
        if (merged.Validate is { Request: ValidationMode.Off })
        {
            merged = merged with { Validate = null };
        }

        return merged.Cors is null && merged.IpFilter is null && merged.GrpcWeb is null && merged.Compress is null && merged.Validate is null && merged.Cache is null && merged.Transform is null && merged.Respond is null ? null : merged;
    }

    private static T? Pick<T>(T? route, T? service, Func<T, bool> enabled)
        where T : class
    {
        var chosen = route ?? service;
        return chosen is not null && enabled(chosen) ? chosen : null;
    }
}
