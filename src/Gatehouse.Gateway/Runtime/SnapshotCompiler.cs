using System.Collections.Frozen;
using System.Net;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;
using Gatehouse.Model.Routing;
using Gatehouse.Model.Validation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Runtime;

/// <summary>The result of compiling a config: the snapshot, or the errors that prevented it.</summary>
internal sealed record CompileResult(GatewaySnapshot? Snapshot, IReadOnlyList<Upstream> Created, IReadOnlyList<Upstream> Retired, IReadOnlyList<ConfigError> Errors);

/// <summary>Turns a validated <see cref="GatehouseConfig"/> into a <see cref="GatewaySnapshot"/>.</summary>
internal static class SnapshotCompiler
{
    /// <summary>
    /// Compiles <paramref name="config"/>. Upstreams of <paramref name="previous"/> whose service definition
    /// did not change are reused (their connections and health state carry over); the others are returned
    /// as <see cref="CompileResult.Retired"/>, to be retired once the new snapshot is live.
    /// </summary>
    public static CompileResult Compile(GatehouseConfig config, long revision, GatewaySnapshot? previous, TimeProvider time, ILoggerFactory loggers)
    {
        var errors = new List<ConfigError>(ConfigValidator.Validate(config));
        foreach (var (id, route) in config.Routes)
        {
            if (PathTemplate.TryParse(route.Path, out _) is { } t && t.ParameterNames.Count() > RouteCaptures.MaxParameters)
            {
                errors.Add(new ConfigError($"routes.{id}.path", $"a route path may have at most {RouteCaptures.MaxParameters} parameters; split the route."));
            }
        }

        if (errors.Count > 0)
        {
            return new CompileResult(null, [], [], errors);
        }

        var created = new List<Upstream>();
        var upstreams = new Dictionary<string, Upstream>(StringComparer.Ordinal);
        foreach (var (name, service) in config.Services)
        {
            if (previous is not null && previous.Upstreams.TryGetValue(name, out var existing) && existing.Fingerprint == Upstream.FingerprintOf(service))
            {
                upstreams[name] = existing;
                continue;
            }

            var upstream = new Upstream(name, service, time, loggers);
            upstreams[name] = upstream;
            created.Add(upstream);
        }

        var retired = previous is null
            ? []
            : previous.Upstreams.Values.Where(u => !upstreams.TryGetValue(u.Name, out var kept) || !ReferenceEquals(kept, u)).ToList();

        var routes = new List<(PathTemplate, RouteModel)>();
        foreach (var (id, route) in config.Routes)
        {
            var path = PathTemplate.TryParse(route.Path, out _)!;
            var upstreamTemplate = route.UpstreamPath is null ? path : PathTemplate.TryParse(route.UpstreamPath, out _)!;
            var parameters = path.ParameterNames.ToList();
            var upstream = upstreams[route.Service];
            var model = new RouteModel(
                id,
                [.. route.Methods.Select(m => HttpMethods.GetCanonicalizedValue(m.ToUpperInvariant()))],
                route.Host,
                upstream,
                UpstreamPathTemplate.Create(upstreamTemplate, parameters),
                route.Timeout ?? upstream.Config.Timeout);
            routes.Add((path, model));
        }

        var trusted = config.Gateway.TrustedProxies
            .Select(p => IPNetwork.TryParse(p, out var n) ? n : new IPNetwork(IPAddress.Parse(p), IPAddress.Parse(p).GetAddressBytes().Length * 8))
            .ToArray();

        var snapshot = new GatewaySnapshot(revision, config, RouteTable.Build(routes), upstreams.ToFrozenDictionary(StringComparer.Ordinal), trusted);
        return new CompileResult(snapshot, created, retired, []);
    }
}
