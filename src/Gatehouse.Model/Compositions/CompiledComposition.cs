using Gatehouse.Model.Config;
using Gatehouse.Model.Routing;

namespace Gatehouse.Model.Compositions;

/// <summary>A composition with its templates compiled and its steps in dependency order (every step after those it references).</summary>
public sealed record CompiledComposition(
    string Id,
    string OperationId,
    CompositionConfig Config,
    PathTemplate Path,
    IReadOnlyList<CompiledStep> Steps,
    Template Response);

/// <summary>One step, compiled: where it calls and how each part of the call is made from references.</summary>
public sealed record CompiledStep(
    string Name,
    int Index,
    CompositionStepConfig Config,
    string Service,
    string Method,
    PathTemplate Path,
    IReadOnlyDictionary<string, Template> Params,
    IReadOnlyList<KeyValuePair<string, Template>> Query,
    IReadOnlyList<KeyValuePair<string, Template>> Headers,
    Template? Body,
    ValueRef? ForEach,
    IReadOnlyList<int> Dependencies)
{
    /// <summary>
    /// Whether any reference reads this step's response headers (<c>@step.headers…</c>, or the whole step). When none
    /// does, the gateway does not copy them per call.
    /// </summary>
    public bool ReadsHeaders { get; init; }
}
