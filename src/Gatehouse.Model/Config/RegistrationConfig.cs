using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// Self-registration: instances of the service add themselves as targets through the admin API
/// (<c>PUT /admin/services/NAME/registrations</c>) and stay for a time to live, renewed by heartbeats. A service
/// without this section refuses registrations.
/// </summary>
public sealed record RegistrationConfig
{
    /// <summary>The default <see cref="Ttl"/>.</summary>
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromSeconds(30);

    /// <summary>The default <see cref="MaxTtl"/>.</summary>
    public static readonly TimeSpan DefaultMaxTtl = TimeSpan.FromMinutes(5);

    /// <summary>The shortest time to live a registration may ask for.</summary>
    public static readonly TimeSpan MinTtl = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Hex SHA-256 of each token that may register targets of this service, and only of this one (<c>gatehouse key new
    /// --prefix ghr_</c> makes one). A hash may belong to one service only. With none, only the admin token registers.
    /// </summary>
    [OneOrMany]
    [DocType("hex SHA-256, or a list")]
    public IReadOnlyList<string> TokenSha256 { get; init; } = [];

    /// <summary>How long a registration lives without a heartbeat, when the request does not say; at least 1s.</summary>
    public TimeSpan Ttl { get; init; } = DefaultTtl;

    /// <summary>The longest time to live granted (at least <c>ttl</c>); a request asking for more gets this much.</summary>
    public TimeSpan MaxTtl { get; init; } = DefaultMaxTtl;

    /// <summary>When set, a registered URL's host must be an IP address inside one of these (<c>10.0.0.0/8</c>).</summary>
    [OneOrMany]
    [DocType("addresses / CIDR ranges, or a list")]
    [DefaultText("any host")]
    public IReadOnlyList<string> AllowedNetworks { get; init; } = [];
}
