using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// The authorize/report API (<c>/api/authorize</c>, <c>/api/report</c>, <c>/api/authrep</c>) for services that are not
/// behind the proxy, on its own listener.
/// </summary>
public sealed record ServiceApiConfig
{
    /// <summary>Where the authorize/report API listens, e.g. <c>http://127.0.0.1:8082</c>.</summary>
    [RequiredKey]
    [DocType("listener URL")]
    public required string Url { get; init; }

    /// <summary>
    /// Hex SHA-256 of each service token that may call it (<c>gatehouse key new --prefix ghs_</c> makes one); at least
    /// one.
    /// </summary>
    [OneOrMany]
    [DocType("hex SHA-256, or a list")]
    public IReadOnlyList<string> TokenSha256 { get; init; } = [];
}
