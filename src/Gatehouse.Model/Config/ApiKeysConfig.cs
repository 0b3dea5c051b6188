using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>Where clients put their API key.</summary>
public sealed record ApiKeysConfig
{
    /// <summary>Request header that carries the key. Default <c>X-Api-Key</c>.</summary>
    [NonEmpty]
    public string Header { get; init; } = "X-Api-Key";

    /// <summary>
    /// Query parameter that carries the key, read only on routes with <c>apiKeyInQuery: true</c> (a key in a URL ends
    /// up in logs and browser history). Default <c>api_key</c>.
    /// </summary>
    [NonEmpty]
    public string QueryParameter { get; init; } = "api_key";
}
