namespace Gatehouse.Model.Config;

/// <summary>
/// Publishes every operation of a service as a route: public path = <see cref="BasePath"/> + the operation's
/// path, methods = the operation's method, route id = the operation id.
/// </summary>
public sealed record PublishConfig
{
    /// <summary>
    /// Literal path prefix of the generated routes, e.g. <c>/api</c>. Default <c>/</c> (no prefix) once <c>publish</c>
    /// is given: <c>publish: {}</c> publishes at the root; without a <c>publish</c> block nothing is published.
    /// </summary>
    public string BasePath { get; init; } = "/";
}
