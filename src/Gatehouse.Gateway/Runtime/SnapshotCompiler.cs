using System.Collections.Frozen;
using System.Net;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Authentication;
using Gatehouse.Gateway.Composition;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Compositions;
using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;
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
    public static CompileResult Compile(GatehouseConfig config, long revision, GatewaySnapshot? previous, TimeProvider time, ILoggerFactory loggers,
        LimitCounters? counters = null, JwtValidator? jwt = null, Policies.Caching.ResponseCacheStore? cache = null, TokenIntrospector? introspection = null)
    {
        var errors = new List<ConfigError>(ConfigValidator.Validate(config));
        var operations = OperationIndex.Build(config);
        var validationLog = loggers.CreateLogger("Gatehouse.Validation");
        var bindings = new List<(string Id, RouteConfig Route, RouteBinding Binding)>();
        foreach (var (id, route) in config.Routes)
        {
            var binding = Bind(route, operations);
            if (PathTemplate.TryParse(binding.Path, out _) is { } t && t.ParameterNames.Count() > RouteCaptures.MaxParameters)
            {
                errors.Add(new ConfigError($"routes.{id}.path", $"a route path may have at most {RouteCaptures.MaxParameters} parameters; split the route."));
            }

            bindings.Add((id, route, binding));
        }

        var compositions = new List<CompiledComposition>();
        var inputChecks = new Dictionary<string, Policies.Validation.RequestValidator?>(StringComparer.Ordinal);
        foreach (var (id, composition) in config.Compositions)
        {
            var found = new List<(string Path, string Message)>();
            if (CompositionCompiler.Compile(id, composition, config, operations, found) is { } compiled)
            {
                compositions.Add(compiled);
            }

            if (composition.Inputs.Count > 0)
            {
                inputChecks[id] = Policies.Validation.CompositionInputs.Compile(id, composition, errors);
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

        var access = AccessCompiler.Compile(config, counters ?? new LimitCounters(), jwt, introspection);
        var ai = config.Services.Where(s => s.Value is { Kind: ServiceKind.Ai, Ai: not null })
            .ToDictionary(s => s.Key, s => new Gateway.Ai.AiServiceModel(s.Key, s.Value.Ai!), StringComparer.Ordinal);
        // RFC 9111 §4.4: with a cached route, the routes that take unsafe methods drop the answers their changes make out of
        // date; without one, no route carries the step.
        var invalidation = cache is not null
            && bindings.Any(b => EffectivePolicies.Of(config.Services.GetValueOrDefault(b.Binding.Service)?.Policies, b.Route.Policies)?.Cache is not null)
            ? new Policies.Caching.CacheInvalidation()
            : null;
        var routes = new List<(PathTemplate, RouteModel)>();
        foreach (var (id, route, binding) in bindings)
        {
            var path = PathTemplate.TryParse(binding.Path, out _)!;
            var upstreamTemplate = binding.UpstreamPath is null ? path : PathTemplate.TryParse(binding.UpstreamPath, out _)!;
            var parameters = path.ParameterNames.ToList();
            var upstream = upstreams[binding.Service];
            var methods = binding.Methods.Select(m => HttpMethods.GetCanonicalizedValue(m.ToUpperInvariant())).ToArray();
            // A route that requires scopes beyond its operation's has a target of its own with the same grants and limits.
            var target = access is null ? null : route.Operation is { } op ? access.Operations[op].WithScopes(route.RequireScopes) : access.Routes[id];
            operations.TryGet(route.Operation ?? "", out _, out var operation);
            var model = new RouteModel(
                id,
                route.Operation,
                methods,
                route.Host,
                upstream,
                UpstreamPathTemplate.Create(upstreamTemplate, parameters),
                route.Timeout ?? upstream.Config.Timeout)
            {
                Template = path.Text,
                Conditions = RouteConditions.From(route.Match),
                Access = target,
                Policies = Policies.PolicyCompiler.Compile(id, route with { Service = binding.Service }, config, methods, [.. parameters], operation, target, access, cache, time, validationLog),
                ApiKeyInQuery = route.ApiKeyInQuery,
                ForwardCredential = route.ForwardCredential,
                Upgrades = route.Upgrades is { } upgrades ? [.. upgrades.Select(u => u.ToLowerInvariant())] : RouteModel.DefaultUpgrades,
                ForwardUnderscoreHeaders = config.Gateway.ForwardUnderscoreHeaders,
                Retry = (route.Retry ?? upstream.Config.Retry) is { Attempts: > 1 } retry ? new Resilience.RetryPolicy(retry) : null,
                Faults = route.Faults is { } faults ? new Resilience.FaultInjector(id, faults, time, loggers.CreateLogger("Gatehouse.Faults")) : null,
                DeadlineHeader = upstream.Config.DeadlineHeader,
                MaxRequestBodySize = route.MaxRequestBodySize,
                ForwardedPrefix = binding.UpstreamPath is null ? null : Routing.ForwardedPrefix.Of(path, upstreamTemplate),
                Mirror = route.Mirror is { } mirror ? new Forwarding.RequestMirror(id, upstreams[mirror.Service], mirror, time, loggers.CreateLogger("Gatehouse.Mirror")) : null,
                Ai = ai.GetValueOrDefault(binding.Service),
                CacheInvalidation = invalidation is not null && Policies.Caching.CacheInvalidation.TakesUnsafeMethod(methods) ? invalidation : null,
            };
            routes.Add((path, model));
        }

        foreach (var c in compositions)
        {
            // A composition is a route with no upstream of its own; its access is its operation's.
            var parameters = c.Path.ParameterNames.ToList();
            routes.Add((c.Path, new RouteModel(
                $"compositions.{c.Id}",
                c.OperationId,
                [HttpMethods.GetCanonicalizedValue(c.Config.Method)],
                c.Config.Host,
                null,
                UpstreamPathTemplate.Create(c.Path, parameters),
                c.Config.Deadline)
            {
                Template = c.Path.Text,
                Access = access?.Operations[c.OperationId],
                Composition = new CompositionModel(c),
                // Inputs bound to schemas are checked by the validate stage of the route policies, before any step runs.
                Policies = inputChecks.GetValueOrDefault(c.Id) is { } check ? new Policies.RoutePolicies { Parameters = [.. parameters], Validation = check } : null,
            }));
        }

        var trusted = config.Gateway.TrustedProxies
            .Select(p => IPNetwork.TryParse(p, out var n) ? n : new IPNetwork(IPAddress.Parse(p), IPAddress.Parse(p).GetAddressBytes().Length * 8))
            .ToArray();

        var table = RouteTable.Build(routes);
        invalidation?.Attach(table);
        var snapshot = new GatewaySnapshot(revision, config, table, upstreams.ToFrozenDictionary(StringComparer.Ordinal), trusted, access);
        return new CompileResult(snapshot, created, retired, []);
    }

    /// <summary>What a route serves once its operation, if any, is applied.</summary>
    private readonly record struct RouteBinding(string Service, IReadOnlyList<string> Methods, string Path, string? UpstreamPath);

    /// <summary>
    /// A route loaded from a file already carries its operation's service, method and paths; one built in code
    /// may name only the operation (validation has checked that whatever it does say agrees with it).
    /// </summary>
    private static RouteBinding Bind(RouteConfig route, OperationIndex operations)
    {
        if (route.Operation is { } id && operations.TryGet(id, out var service, out var operation))
        {
            return new RouteBinding(
                route.Service ?? service,
                route.Methods.Count > 0 ? route.Methods : [operation.Method],
                route.Path ?? operation.Path,
                route.UpstreamPath ?? operation.Path);
        }

        // Validation has required both for a route without an operation; "" only reaches a config that failed it.
        return new RouteBinding(route.Service ?? "", route.Methods, route.Path ?? "", route.UpstreamPath);
    }
}
