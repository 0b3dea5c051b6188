using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// Where a service's OpenAPI document (3.0 or 3.1, JSON or YAML) is read from, to import its operations.
/// Exactly one of <see cref="File"/> and <see cref="Url"/>. Only paths, methods, operationIds and tags are
/// read; the document's <c>servers</c> are ignored, because the service's targets decide where traffic goes.
/// </summary>
public sealed record OpenApiConfig
{
    /// <summary>Path of the document. A relative path is relative to the config file.</summary>
    [FilePath]
    public string? File { get; init; }

    /// <summary>
    /// <c>http(s)</c> URL the document is fetched from each time the config is loaded (at start and on every
    /// reload), with a 10s time limit. A document that cannot be fetched makes the config invalid.
    /// </summary>
    public string? Url { get; init; }
}
