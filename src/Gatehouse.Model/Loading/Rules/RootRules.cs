using Gatehouse.Model.Config;

namespace Gatehouse.Model.Loading;

/// <summary>The document's <c>version</c>, which must be written and be this build's, and its <c>compositions</c>.</summary>
internal sealed class RootRules : BindingRules<GatehouseConfig>
{
    protected override GatehouseConfig? Check(GatehouseConfig config, BindingScope scope)
    {
        if (!scope.Has("version"))
        {
            scope.Error("version", $"the document has no 'version'; add 'version: {GatehouseConfig.CurrentVersion}' at the top.");
        }
        else if (!scope.Failed("version") && config.Version != GatehouseConfig.CurrentVersion)
        {
            scope.Error("version", $"version {config.Version} is not supported by this build; it reads version {GatehouseConfig.CurrentVersion}.");
        }

        return scope.Map.TryGetValue("compositions", out var compositions)
            ? config with { Compositions = scope.Binder.Compositions.Read(compositions, "compositions") }
            : config;
    }
}
