using System.Collections.Frozen;
using Gatehouse.Model.Compositions;

namespace Gatehouse.Gateway.Composition;

/// <summary>The immutable runtime form of one composition, part of a snapshot.</summary>
internal sealed class CompositionModel(CompiledComposition compiled)
{
    public CompiledComposition Compiled { get; } = compiled;

    public string Id => Compiled.Id;

    /// <summary>The steps in dependency order; a step's index is its place here.</summary>
    public IReadOnlyList<CompiledStep> Steps => Compiled.Steps;

    public FrozenDictionary<string, int> StepIndex { get; } = compiled.Steps.ToFrozenDictionary(s => s.Name, s => s.Index, StringComparer.Ordinal);

    /// <summary>The composition path's parameter names, in capture order.</summary>
    public string[] RouteParameters { get; } = [.. compiled.Path.ParameterNames];
}
