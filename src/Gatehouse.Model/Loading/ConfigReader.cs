using Gatehouse.Model.Config;
using Gatehouse.Model.Schema;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>
/// Binds a parsed YAML/JSON document to <see cref="GatehouseConfig"/>, reporting every type and key error. The records
/// in Gatehouse.Model.Config are the one description of the document (<see cref="ConfigBinder"/> walks them); this only
/// holds what loading needs from binding besides the config.
/// </summary>
internal sealed class ConfigReader(YamlBinder b, string baseDirectory)
{
    private readonly ConfigBinder _binder = new(b, baseDirectory);

    /// <summary>Declared operations and source lines of each service's operation keys.</summary>
    public IReadOnlyDictionary<string, ServiceOperationSyntax> OperationSyntax => _binder.Operations.Services;

    /// <summary>Services written in the document whose definition could not be bound (the error is already reported).</summary>
    public IReadOnlySet<string> BrokenServices => _binder.Broken("services");

    /// <summary>The top-level keys of a config document.</summary>
    public static readonly string[] Sections = RecordShape.Of(typeof(GatehouseConfig)).KeyNames;

    public GatehouseConfig? ReadRoot(YamlNode root) => _binder.Bind<GatehouseConfig>(root, "");
}
