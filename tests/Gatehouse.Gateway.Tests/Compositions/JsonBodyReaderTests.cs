using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Composition;
using Gatehouse.Model.Compositions;

namespace Gatehouse.Gateway.Tests.Compositions;

/// <summary>The backend body parser of compositions (#4): what it builds, and what it refuses.</summary>
public sealed class JsonBodyReaderTests
{
    private static Task<JsonNode?> ReadAsync(string json, int maxDepth = 64, int maxItems = 1000) =>
        JsonBodyReader.ReadAsync(new ByteArrayContent(Encoding.UTF8.GetBytes(json)), "step", 1 << 20, maxDepth, maxItems, CancellationToken.None);

    [Theory]
    [InlineData("24.90")]
    [InlineData("1.0")]
    [InlineData("-0")]
    [InlineData("1.5e3")]
    [InlineData("1E+400")]
    [InlineData("12345678901234567890123456789012345")]
    [InlineData("0.1")]
    [InlineData("-7")]
    public async Task Number_IsWrittenBackWithItsExactText_AndCopiesToo(string number)
    {
        var node = await ReadAsync($$"""{"n":{{number}},"a":[{{number}}]}""");
        Assert.Equal($$"""{"n":{{number}},"a":[{{number}}]}""", node!.ToJsonString());
        Assert.Equal(number, node["n"]!.DeepClone().ToJsonString());
        Assert.Equal(number, TemplateEvaluator.KeyOf(node["n"]));
    }

    [Fact]
    public async Task Strings_Booleans_Nulls_AndNesting_RoundTrip()
    {
        const string json = """{"s":"a\"b\u00e9\n","t":true,"f":false,"z":null,"o":{"a":[1,[2,{}],[]]}}""";
        var node = await ReadAsync(json);
        Assert.Equal("a\"b\u00e9\n", node!["s"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), node));
        Assert.Equal("true", TemplateEvaluator.KeyOf(node["t"]));
    }

    [Theory]
    [InlineData("{\"a\":1} x")]
    [InlineData("{\"a\":1}{}")]
    [InlineData("   ")]
    [InlineData("{\"a\":")]
    [InlineData("[1,]")]
    public async Task NotJson_FailsTheStep(string body)
    {
        var failure = await Assert.ThrowsAsync<StepFailure>(() => ReadAsync(body));
        Assert.Equal("composition-body-not-json", failure.Slug);
    }

    [Fact]
    public async Task DeeperThanTheLimit_FailsTheStep_AndAtTheLimitDoesNot()
    {
        Assert.NotNull(await ReadAsync("[[[1]]]", maxDepth: 3));
        var failure = await Assert.ThrowsAsync<StepFailure>(() => ReadAsync("[[[[1]]]]", maxDepth: 3));
        Assert.Equal("composition-body-too-deep", failure.Slug);
    }

    [Fact]
    public async Task ArrayOverMaxItems_FailsTheStep_AndOneAtTheLimitDoesNot()
    {
        Assert.Equal(3, (await ReadAsync("[1,2,3]", maxItems: 3))!.AsArray().Count);
        var failure = await Assert.ThrowsAsync<StepFailure>(() => ReadAsync("{\"a\":[1,2,3,4]}", maxItems: 3));
        Assert.Equal("composition-too-many-items", failure.Slug);
    }
}
