using System.Collections.Frozen;
using System.Net;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Runtime;

/// <summary>
/// Everything a request needs, compiled from one config revision. Immutable: a reload builds a new
/// snapshot and swaps the reference; requests that started on this one finish on it.
/// </summary>
internal sealed class GatewaySnapshot
{
    private readonly IPNetwork[] _trustedProxies;

    public GatewaySnapshot(long revision, GatehouseConfig config, RouteTable routes, FrozenDictionary<string, Upstream> upstreams, IPNetwork[] trustedProxies, AccessModel? access = null)
    {
        Access = access;
        Revision = revision;
        Config = config;
        Routes = routes;
        Upstreams = upstreams;
        _trustedProxies = trustedProxies;
    }

    /// <summary><c>gateway.healthPath</c>: answered with readiness on the public listeners, before routing; null when not set.</summary>
    public string? HealthPath => Config.Gateway.HealthPath;

    /// <summary>The revision number, 1 for the first config applied.</summary>
    public long Revision { get; }

    public GatehouseConfig Config { get; }

    public RouteTable Routes { get; }

    public FrozenDictionary<string, Upstream> Upstreams { get; }

    /// <summary>Plans, applications and grants; null when the revision has no plans (then every route is open).</summary>
    public AccessModel? Access { get; }

    /// <summary>True when <paramref name="address"/> is a configured trusted proxy.</summary>
    public bool IsTrustedProxy(IPAddress? address)
    {
        if (_trustedProxies.Length == 0 || address is null)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var network in _trustedProxies)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
