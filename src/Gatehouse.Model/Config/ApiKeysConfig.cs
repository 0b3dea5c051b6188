using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>Where clients put their API key.</summary>
public sealed record ApiKeysConfig
{
    /// <summary>The request header that carries an API key.</summary>
    [NonEmpty]
    [DocType("header name")]
    public string Header { get; init; } = "X-Api-Key";

    /// <summary>
    /// The query parameter that carries an API key, read only on routes with <c>apiKeyInQuery: true</c> (a key in a URL
    /// ends up in logs and browser history).
    /// </summary>
    [NonEmpty]
    [DocType("name")]
    public string QueryParameter { get; init; } = "api_key";
}
