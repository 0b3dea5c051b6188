using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// Where a service's OpenAPI document (3.0 or 3.1, JSON or YAML) is read from, to import its operations.
/// Exactly one of <see cref="File"/> and <see cref="Url"/>. Only paths, methods, operationIds and tags are
/// read; the document's <c>servers</c> are ignored, because the service's targets decide where traffic goes.
/// </summary>
public sealed record OpenApiConfig
{
    /// <summary>The document's file; edits to it are picked up like edits to the config.</summary>
    [FilePath]
    public string? File { get; init; }

    /// <summary>
    /// Where the service serves its document, e.g. <c>http://127.0.0.1:5101/openapi.json</c>; fetched (10s limit) each
    /// time the config is loaded or reloaded. A document that cannot be fetched or read makes the config invalid, for
    /// <c>validate</c> as for <c>run</c>.
    /// </summary>
    [DocType("URL")]
    public string? Url { get; init; }
}
