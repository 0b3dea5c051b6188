using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Operations;

/// <summary>A temporary folder for a config file and the OpenAPI documents it imports.</summary>
internal sealed class OperationFixture : IDisposable
{
    private readonly TempDirectory _dir = new();

    public string Directory => _dir.Path;

    /// <summary>Writes a document under <paramref name="name"/> and returns its full path.</summary>
    public string Spec(string name, string text)
    {
        var full = Path.Combine(_dir.Path, name);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
        return full;
    }

    /// <summary>Loads <paramref name="yaml"/> as if it were a config file in the folder.</summary>
    public ConfigLoadResult Load(string yaml) => ConfigText.Load(yaml, baseDirectory: _dir.Path);

    /// <summary>Loads and asserts the config is valid.</summary>
    public GatehouseConfig Valid(string yaml) => ConfigText.Valid(yaml, baseDirectory: _dir.Path);

    public void Dispose() => _dir.Dispose();
}
