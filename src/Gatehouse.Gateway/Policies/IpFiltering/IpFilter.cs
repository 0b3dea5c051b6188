using System.Net;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Policies.IpFiltering;

/// <summary>A compiled allow and deny list of addresses and CIDR ranges; deny wins.</summary>
internal sealed class IpFilter(IPNetwork[] allow, IPNetwork[] deny)
{
    public static IpFilter? Compile(IpFilterConfig? config) =>
        config is { Enabled: true } && (config.Allow.Count > 0 || config.Deny.Count > 0)
            ? new IpFilter([.. config.Allow.Select(Parse)], [.. config.Deny.Select(Parse)])
            : null;

    /// <summary>Whether <paramref name="address"/> may call; an unknown address is allowed only by a filter with no allow list.</summary>
    public bool Allows(IPAddress? address)
    {
        if (address is null)
        {
            return allow.Length == 0 && deny.Length == 0;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var n in deny)
        {
            if (n.Contains(address))
            {
                return false;
            }
        }

        if (allow.Length == 0)
        {
            return true;
        }

        foreach (var n in allow)
        {
            if (n.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    private static IPNetwork Parse(string text) =>
        IPNetwork.TryParse(text, out var n) ? n : new IPNetwork(IPAddress.Parse(text), IPAddress.Parse(text).GetAddressBytes().Length * 8);
}
