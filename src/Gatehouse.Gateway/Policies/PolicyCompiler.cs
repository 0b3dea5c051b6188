using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Policies.Caching;
using Gatehouse.Gateway.Policies.Cors;
using Gatehouse.Gateway.Policies.IpFiltering;
using Gatehouse.Gateway.Policies.Transforms;
using Gatehouse.Gateway.Policies.Validation;
using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;
using Gatehouse.Model.Policies;

namespace Gatehouse.Gateway.Policies;

/// <summary>Builds a route's <see cref="RoutePolicies"/> when a snapshot is compiled; null when the route has none.</summary>
internal static class PolicyCompiler
{
    private static readonly string[] DefaultExpose = ["X-Request-Id", "RateLimit", "RateLimit-Policy", "Retry-After", CachePolicy.StatusHeader];

    public static RoutePolicies? Compile(string routeId, RouteConfig route, GatehouseConfig config, string[] methods, string[] parameters,
        OperationConfig? operation, AccessTarget? access, AccessModel? accessModel, ResponseCacheStore? store, TimeProvider time,
        Microsoft.Extensions.Logging.ILogger? log = null)
    {
        var service = route.Service is { } s ? config.Services.GetValueOrDefault(s) : null;
        if (EffectivePolicies.Of(service?.Policies, route.Policies) is not { } p)
        {
            return null;
        }

        return new RoutePolicies
        {
            Parameters = parameters,
            Cors = p.Cors is { } cors ? Cors(cors, config, methods, access, accessModel, grpcWeb: p.GrpcWeb is not null) : null,
            IpFilter = IpFilter.Compile(p.IpFilter),
            Compress = p.Compress is { } compress ? new Compression.CompressPolicy(compress) : null,
            GrpcWeb = p.GrpcWeb is not null ? new GrpcWeb.GrpcWebPolicy() : null,
            Validation = RequestValidator.Compile(p.Validate, routeId, operation?.Contract),
            ResponseValidation = ResponseValidator.Compile(p.Validate, routeId, operation?.Contract, log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance),
            Cache = p.Cache is { } cache && store is not null
                ? new CachePolicy(cache, routeId, Fingerprint(route, p), store, time)
                : null,
            RequestTransform = RequestTransform.Compile(p.Transform?.Request, parameters),
            ResponseTransform = ResponseTransform.Compile(p.Transform?.Response, routeId, log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance),
            Respond = p.Respond is { } respond ? new Responding.RespondPolicy(respond, parameters) : null,
        };
    }

    /// <summary>The origins of <paramref name="list"/>, parsed (validation has checked them).</summary>
    public static CorsOrigin[] Origins(IEnumerable<string> list) => [.. list.Select(o => CorsOrigin.Parse(o, out _)).OfType<CorsOrigin>()];

    private static CorsPolicy Cors(CorsConfig cors, GatehouseConfig config, string[] routeMethods, AccessTarget? access, AccessModel? accessModel, bool grpcWeb)
    {
        var own = Origins(cors.Portal && config.Gateway.PortalOrigin is { } portal ? cors.Origins.Append(portal) : cors.Origins);

        // A preflight carries no credential, so it cannot know the caller's plan: it allows the origins of every plan
        // that grants the route, and the actual response then allows only the caller's.
        var preflight = own.ToList();
        if (access is not null && accessModel is not null)
        {
            foreach (var plan in accessModel.Plans)
            {
                if (plan.CorsOrigins is { } extra && (access.Read[plan.Index] is not null || access.Write[plan.Index] is not null))
                {
                    preflight.AddRange(extra);
                }
            }
        }

        var methods = cors.Methods.Count > 0
            ? cors.Methods.Select(m => m.ToUpperInvariant()).ToArray()
            : routeMethods.Length > 0 ? routeMethods : ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
        if (methods.Contains("GET") && !methods.Contains("HEAD"))
        {
            methods = [.. methods, "HEAD"];
        }

        var headers = cors.Headers?.ToArray() ?? ["Content-Type", "Authorization", config.Gateway.ApiKeys.Header];
        var expose = cors.ExposeHeaders ?? DefaultExpose;
        if (grpcWeb)
        {
            // What gRPC-Web clients send and read, unless the route lists its own: without them a browser's preflight is
            // refused, and a status the gateway sends in the headers cannot be read.
            headers = cors.Headers is null ? [.. headers, "X-Grpc-Web", "X-User-Agent", "Grpc-Timeout"] : headers;
            expose = cors.ExposeHeaders is null ? [.. expose, "Grpc-Status", "Grpc-Message"] : expose;
        }

        return new CorsPolicy(
            own,
            [.. preflight],
            string.Join(", ", methods),
            methods,
            headers,
            string.Join(", ", headers),
            expose.Count == 0 ? null : string.Join(", ", expose),
            cors.Credentials,
            ((long)cors.MaxAge.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>What a cached answer depends on besides the request: a route that changes shape starts a fresh cache.</summary>
    private static string Fingerprint(RouteConfig route, PoliciesConfig policies)
    {
        var text = string.Join("\n", route.Operation, route.Service, route.UpstreamPath, route.Path, string.Join(',', route.Methods),
            System.Text.Json.JsonSerializer.Serialize(policies.Cache), policies.Transform is { } t ? System.Text.Json.JsonSerializer.Serialize(t) : "");
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)).AsSpan(0, 8));
    }
}
