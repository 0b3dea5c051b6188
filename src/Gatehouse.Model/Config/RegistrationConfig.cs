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
    /// Registration tokens of this service, as lower-case hex SHA-256 of each token (<c>gatehouse key new --prefix ghr_</c>
    /// makes one); a token registers targets of this service only. Default: none (then only the admin token can register).
    /// </summary>
    [OneOrMany]
    public IReadOnlyList<string> TokenSha256 { get; init; } = [];

    /// <summary>Time to live of a registration that does not ask for one. Default 30s.</summary>
    public TimeSpan Ttl { get; init; } = DefaultTtl;

    /// <summary>Longest time to live a registration gets; one that asks for more gets this much. Default 5m.</summary>
    public TimeSpan MaxTtl { get; init; } = DefaultMaxTtl;

    /// <summary>
    /// CIDR ranges (<c>10.0.0.0/8</c>) or addresses registered targets must be in; when set, a registered URL's host must
    /// be an IP address inside one of them. Default: any host.
    /// </summary>
    [OneOrMany]
    public IReadOnlyList<string> AllowedNetworks { get; init; } = [];
}
