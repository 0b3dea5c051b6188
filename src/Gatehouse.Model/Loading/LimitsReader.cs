using Gatehouse.Model.Config;
using Gatehouse.Model.Schema;
using Gatehouse.Model.Validation;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>Binds a list of limits on its own, as a plan's <c>limits</c> are bound (for tests of the limit rules).</summary>
internal static class LimitsReader
{
    private static readonly ValueShape Shape = RecordShape.Of(typeof(PlanConfig)).Keys.Single(k => k.Name == "limits").Value;

    /// <summary>Binds <paramref name="yaml"/> (a list of limits) as if it were found at <paramref name="path"/>.</summary>
    internal static (IReadOnlyList<LimitConfig> Limits, IReadOnlyList<ConfigError> Errors) Read(string yaml, string path, Func<string, string?>? environment = null)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var binder = new YamlBinder(environment ?? (_ => null));
        var limits = new ConfigBinder(binder, ".").BindValue(Shape, stream.Documents[0].RootNode, path) as IReadOnlyList<LimitConfig> ?? [];
        return (limits, binder.Errors);
    }
}
