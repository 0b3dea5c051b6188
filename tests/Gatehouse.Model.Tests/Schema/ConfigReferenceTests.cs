using Gatehouse.Model.Config;
using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Tests.Schema;

/// <summary>docs/configuration.md's tables are made from the records; prose around them is hand-written.</summary>
[Trait("Issue", "17")]
public sealed class ConfigReferenceTests
{
    [Fact]
    public void Generated_ConfigurationReference_IsWhatTheRecordsMake()
    {
        var path = Path.Combine(GeneratedFiles.RepositoryRoot, "docs", "configuration.md");
        var current = File.ReadAllText(path).Replace("\r\n", "\n", StringComparison.Ordinal);

        GeneratedFiles.Check("docs/configuration.md", ConfigReference.Update(current, XmlDocs.For(typeof(GatehouseConfig))));
    }

    [Fact]
    public void Generated_ConfigurationReference_HasATableForEveryRecordWithOneOfItsOwn()
    {
        var doc = File.ReadAllText(Path.Combine(GeneratedFiles.RepositoryRoot, "docs", "configuration.md"));

        Assert.All(ConfigReference.Tables.Keys, name => Assert.Contains($"<!-- generated: {name} -->", doc, StringComparison.Ordinal));
    }

    [Fact]
    public void Table_OfARecord_ListsEveryKeyWithItsTypeDefaultAndDocComment()
    {
        var table = ConfigReference.Table(typeof(LimitConfig), XmlDocs.For(typeof(LimitConfig)));

        Assert.Contains("| `requests` | int ≥ 1 | required |", table, StringComparison.Ordinal);
        Assert.Contains("| `mode` | `enforce` \\| `shadow` | `enforce` |", table, StringComparison.Ordinal);
    }
}
