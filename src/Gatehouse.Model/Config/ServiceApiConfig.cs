using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// The authorize/report API (<c>/api/authorize</c>, <c>/api/report</c>, <c>/api/authrep</c>) for services that are not
/// behind the proxy, on its own listener.
/// </summary>
public sealed record ServiceApiConfig
{
    /// <summary>Where it listens, e.g. <c>http://127.0.0.1:8082</c>. Required.</summary>
    [RequiredKey]
    public required string Url { get; init; }

    /// <summary>
    /// Service tokens that may call it, as lower-case hex SHA-256 of each token (<c>gatehouse key new --prefix ghs_</c>
    /// makes one). Required, at least one.
    /// </summary>
    [OneOrMany]
    public IReadOnlyList<string> TokenSha256 { get; init; } = [];
}
