using Gatehouse.Model.Operations;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Operations;

public sealed class ImportedConfigWriterTests
{
    [Theory]
    [InlineData("users")]
    [InlineData("read only")]
    [InlineData("cost$")]
    [InlineData("${HOME}")]
    [InlineData("yes")]
    [InlineData("null")]
    [InlineData("1.5")]
    [InlineData("a: b")]
    [InlineData("key:")]
    [InlineData("[x]")]
    [InlineData("#hash")]
    [InlineData("say \"hi\" \\ bye")]
    [InlineData("tab\there")]
    [InlineData("ünïcode")]
    public void Write_AnyTagText_ReadsBackUnchanged(string tag)
    {
        var document = new ImportedDocument("3.1", "t", [new ImportedOperation("GET", "/things/{id}", "things.get", [tag])]);
        var results = OperationImport.Convert("things", document, "'spec.yaml'");

        var yaml = ImportedConfigWriter.Write("spec.yaml", document, results, "things", "http://127.0.0.1:5001", "/");
        var config = ConfigText.Valid(yaml);

        Assert.Equal([tag], config.Services["things"].Operations["things.get"].Tags);
    }

    [Fact]
    public void Write_TitleOnSeveralLines_StaysInTheComment()
    {
        var document = new ImportedDocument("3.0", "Users\nversion: 2", []);

        var yaml = ImportedConfigWriter.Write("spec.yaml", document, [], "users", "http://127.0.0.1:5001", "/api");
        var config = ConfigText.Valid(yaml);

        Assert.Equal(1, config.Version);
        Assert.Empty(config.Services["users"].Operations);
        Assert.Contains("(OpenAPI 3.0, \"Users version: 2\")", yaml, StringComparison.Ordinal);
    }
}
