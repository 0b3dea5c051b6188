using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// Client addresses allowed and refused (IP addresses or CIDR ranges). The client address is the connection's, or,
/// from a trusted proxy (<c>gateway.trustedProxies</c>), the last address it added to <c>X-Forwarded-For</c>. A
/// refused address gets 403 <c>ip-refused</c>.
/// </summary>
public sealed record IpFilterConfig
{
    /// <summary>Whether the filter applies; <c>false</c> switches a service's default off on one route.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>When not empty, only these addresses are served.</summary>
    [DocType("list of IPs / CIDRs")]
    public IReadOnlyList<string> Allow { get; init; } = [];

    /// <summary>These addresses are refused, even when <c>allow</c> lists them.</summary>
    [DocType("list of IPs / CIDRs")]
    public IReadOnlyList<string> Deny { get; init; } = [];
}
