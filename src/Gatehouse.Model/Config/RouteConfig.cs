namespace Gatehouse.Model.Config;

/// <summary>A public method + path (+ host) that the gateway serves, bound to a service.</summary>
public sealed record RouteConfig
{
    /// <summary>HTTP methods served. Empty (default) serves every method.</summary>
    public IReadOnlyList<string> Methods { get; init; } = [];

    /// <summary>
    /// Path template, e.g. <c>/users/{id}</c> or <c>/files/{**rest}</c> (a catch-all, last segment only).
    /// Literal segments match case-insensitively. Required.
    /// </summary>
    public required string Path { get; init; }

    /// <summary>Host the route is limited to (exact, or <c>*.example.com</c>). Default: any host.</summary>
    public string? Host { get; init; }

    /// <summary>Name of the service in <c>services</c> that serves this route. Required.</summary>
    public required string Service { get; init; }

    /// <summary>
    /// Path template sent upstream, using the route's parameters. Default: the route's own path.
    /// Parameter values are percent-encoded, so a value can never add a path segment.
    /// </summary>
    public string? UpstreamPath { get; init; }

    /// <summary>Overrides the service's <c>timeout</c> for this route.</summary>
    public TimeSpan? Timeout { get; init; }
}
