using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Upstreams;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Routing;

/// <summary>The compiled, immutable runtime form of one route.</summary>
internal sealed class RouteModel
{
    public RouteModel(string id, string? operationId, string[] methods, string? host, Upstream? upstream, UpstreamPathTemplate upstreamPath, TimeSpan timeout)
    {
        Id = id;
        OperationId = operationId;
        Methods = methods;
        Host = host;
        Upstream = upstream;
        UpstreamPath = upstreamPath;
        Timeout = timeout;
    }

    public string Id { get; }

    /// <summary>The public path template as written (<c>/users/{id}</c>): the <c>http.route</c> of metrics and spans.</summary>
    public string Template { get; init; } = "";

    /// <summary>
    /// What usage analytics count the route's requests under: its operation id, or <c>route:ID</c> for a route bound to no
    /// operation. Made once here so that recording a request allocates nothing.
    /// </summary>
    public string UsageOperation => _usageOperation ??= OperationId ?? "route:" + Id;

    private string? _usageOperation;

    /// <summary>The id of the operation the route serves (<c>users.getUser</c>), or null for a route bound only to a service.</summary>
    public string? OperationId { get; }

    /// <summary>Upper-case methods (the <see cref="HttpMethods"/> instances); empty means every method. GET implies HEAD.</summary>
    public string[] Methods { get; }

    public string? Host { get; }

    /// <summary>The headers and query parameters the route also asks of a request (<c>match</c>); null for none.</summary>
    public RouteConditions? Conditions { get; init; }

    /// <summary>The service the route forwards to; null for a composition, whose steps name their own services.</summary>
    public Upstream? Upstream { get; }

    /// <summary>The composition that serves the route instead of the forwarder, or null.</summary>
    public Composition.CompositionModel? Composition { get; init; }

    /// <summary>The <c>ai</c> service that serves the route's OpenAI-compatible API instead of the forwarder, or null.</summary>
    public Ai.AiServiceModel? Ai { get; init; }

    public UpstreamPathTemplate UpstreamPath { get; }

    /// <summary>Time allowed until the upstream's response headers arrive.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>When failed attempts are tried again (the route's <c>retry</c>, else its service's); null when never.</summary>
    public Resilience.RetryPolicy? Retry { get; init; }

    /// <summary>Fault injection, or null (the default: no cost).</summary>
    public Resilience.FaultInjector? Faults { get; init; }

    /// <summary>The header that tells the upstream the time left of the deadline, in milliseconds; null when not sent.</summary>
    public string? DeadlineHeader { get; init; }

    /// <summary>What the route takes off the front of the path before the service sees it (<c>X-Forwarded-Prefix</c>); null when nothing.</summary>
    public string? ForwardedPrefix { get; init; }

    /// <summary>The route's <c>mirror</c>, or null.</summary>
    public Forwarding.RequestMirror? Mirror { get; init; }

    /// <summary>The route's own request body limit (<c>maxRequestBodySize</c>); null for the gateway's.</summary>
    public long? MaxRequestBodySize { get; init; }

    /// <summary>What plans grant here; null when the revision has no plans, and the route needs no credential.</summary>
    public AccessTarget? Access { get; init; }

    /// <summary>The route's compiled policies (CORS, IP filter, validation, cache, transforms); null when it has none, and then none of their code runs.</summary>
    public Policies.RoutePolicies? Policies { get; init; }

    /// <summary>
    /// Where an unsafe request this route forwards drops the cached answers it made out of date (RFC 9111 §4.4); null
    /// when the revision has no cached route or the route takes only safe methods, and then nothing is looked at.
    /// </summary>
    public Policies.Caching.CacheInvalidation? CacheInvalidation { get; init; }

    /// <summary>The API key may also come in the query (and is removed from it before forwarding).</summary>
    public bool ApiKeyInQuery { get; init; }

    /// <summary>The client's credential is forwarded upstream.</summary>
    public bool ForwardCredential { get; init; }

    /// <summary>Protocols an upgrade (HTTP/1.1 <c>Upgrade</c>, HTTP/2 extended CONNECT) may open a tunnel to, lower-case. Default <c>websocket</c>.</summary>
    public string[] Upgrades { get; init; } = DefaultUpgrades;

    /// <summary>The allowed upgrades for messages, or "none".</summary>
    public string UpgradesText => Upgrades.Length == 0 ? "none" : string.Join(", ", Upgrades);

    /// <summary>Client headers whose names hold <c>_</c> are forwarded (checked as their <c>-</c> twins). Default false, as nginx.</summary>
    public bool ForwardUnderscoreHeaders { get; init; }

    internal static readonly string[] DefaultUpgrades = ["websocket"];

    /// <summary>True when <paramref name="protocol"/> is one of <see cref="Upgrades"/> (whole token, any case).</summary>
    public bool AllowsUpgrade(ReadOnlySpan<char> protocol)
    {
        foreach (var allowed in Upgrades)
        {
            if (protocol.Equals(allowed, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    public bool AllowsMethod(string method)
    {
        var methods = Methods;
        if (methods.Length == 0)
        {
            return true;
        }

        foreach (var m in methods)
        {
            if (ReferenceEquals(m, method) || string.Equals(m, method, StringComparison.Ordinal))
            {
                return true;
            }
        }

        // RFC 9110 §9.3.2: HEAD is served wherever GET is.
        return ReferenceEquals(method, HttpMethods.Head) && Array.IndexOf(methods, HttpMethods.Get) >= 0;
    }
}
