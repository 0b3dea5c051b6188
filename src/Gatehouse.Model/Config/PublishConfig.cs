using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// Publishes every operation of a service as a route: public path = <see cref="BasePath"/> + the operation's
/// path, methods = the operation's method, route id = the operation id.
/// </summary>
public sealed record PublishConfig
{
    /// <summary>
    /// The literal path every published operation's path goes under, e.g. <c>/api</c>. <c>publish: {}</c> publishes at
    /// the root; without a <c>publish</c> block nothing is published.
    /// </summary>
    [DocType("literal path")]
    public string BasePath { get; init; } = "/";
}
