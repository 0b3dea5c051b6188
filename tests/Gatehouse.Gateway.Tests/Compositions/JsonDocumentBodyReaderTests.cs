using System.Buffers;
using System.Text;
using System.Text.Json;
using Gatehouse.Gateway.Composition;
using Gatehouse.Model.Compositions;

namespace Gatehouse.Gateway.Tests.Compositions;

/// <summary>
/// The backend body reader of compositions (#4): what it reads, and what it refuses. The expected texts were generated
/// with the JsonNode reader the gateway used before, so a body reads (and fails) as it always has.
/// </summary>
public sealed class JsonDocumentBodyReaderTests
{
    [Theory]
    [InlineData("""{"n":24.90,"a":[1.0,-0,1.5e3,1E+400,12345678901234567890123456789012345,0.1,-7]}""", "{\"n\":24.90,\"a\":[1.0,-0,1.5e3,1E+400,12345678901234567890123456789012345,0.1,-7]}")]
    [InlineData("""{"s":"a\"b\u00e9\n","t":true,"f":false,"z":null,"o":{"a":[1,[2,{}],[]]}}""", "{\"s\":\"a\\u0022b\\u00E9\\n\",\"t\":true,\"f\":false,\"z\":null,\"o\":{\"a\":[1,[2,{}],[]]}}")]
    [InlineData("""{"a":1,"b":2,"a":3}""", "{\"a\":3,\"b\":2}")]
    [InlineData("""{"o":{"x":[1],"y":2,"x":{"x":1,"x":[2,2]}},"o":{"k":1,"x":0}}""", "{\"o\":{\"k\":1,\"x\":0}}")]
    [InlineData("""  [1, "x" , {"a\u0062":1,"ab":2}]  """, "[1,\"x\",{\"ab\":2}]")]
    [InlineData("5", "5")]
    [InlineData("\"text\"", "\"text\"")]
    [InlineData("null", "null")]
    [InlineData("", "null")]
    [InlineData("[[[1]]]", "[[[1]]]")]
    [InlineData("[1,2,3,4]", "[1,2,3,4]")]
    public async Task Body_IsReadAsBefore(string json, string expected)
    {
        Assert.Equal(expected, await ReadAsync(json));
    }

    [Theory]
    [InlineData("{\"a\":1} x", "StepFailure composition-body-not-json: Step 'step': the backend's body is not JSON.")]
    [InlineData("{\"a\":1}{}", "StepFailure composition-body-not-json: Step 'step': the backend's body is not JSON.")]
    [InlineData("   ", "StepFailure composition-body-not-json: Step 'step': the backend's body is not JSON.")]
    [InlineData("{\"a\":", "StepFailure composition-body-not-json: Step 'step': the backend's body is not JSON.")]
    [InlineData("[1,]", "StepFailure composition-body-not-json: Step 'step': the backend's body is not JSON.")]
    [InlineData("[[[[1]]]]", "StepFailure composition-body-too-deep: Step 'step': the backend's JSON nests deeper than the limit of 3 (maxDepth).")]
    [InlineData("[[[[1]]]", "StepFailure composition-body-too-deep: Step 'step': the backend's JSON nests deeper than the limit of 3 (maxDepth).")]
    [InlineData("[[1,2,3,4,5],[[[[", "StepFailure composition-too-many-items: Step 'step': the backend's JSON has an array of 5 elements, over the limit of 4 (maxItems).")]
    [InlineData("[1,2,3,4,5]", "StepFailure composition-too-many-items: Step 'step': the backend's JSON has an array of 5 elements, over the limit of 4 (maxItems).")]
    [InlineData("[[1,2,3,4,5],[[[[1]]]]]", "StepFailure composition-too-many-items: Step 'step': the backend's JSON has an array of 5 elements, over the limit of 4 (maxItems).")]
    [InlineData("[[[[1]]],[1,2,3,4,5]]", "StepFailure composition-body-too-deep: Step 'step': the backend's JSON nests deeper than the limit of 3 (maxDepth).")]
    [InlineData("{\"a\":[1,2,3,4,5],\"a\":1}", "StepFailure composition-too-many-items: Step 'step': the backend's JSON has an array of 5 elements, over the limit of 4 (maxItems).")]
    [InlineData("{\"a\":1,\"a\":2,}", "StepFailure composition-body-not-json: Step 'step': the backend's body is not JSON.")]
    [InlineData("{\"a\":[[[[]]]],\"a\":1}", "StepFailure composition-body-too-deep: Step 'step': the backend's JSON nests deeper than the limit of 3 (maxDepth).")]
    public async Task Refusals_AreAsBefore(string json, string expected)
    {
        Assert.Equal(expected, await ReadAsync(json, maxDepth: 3, maxItems: 4));
    }

    [Theory]
    [InlineData("24.90")]
    [InlineData("1.0")]
    [InlineData("-0")]
    [InlineData("1.5e3")]
    [InlineData("1E+400")]
    [InlineData("12345678901234567890123456789012345")]
    [InlineData("0.1")]
    [InlineData("-7")]
    public async Task Number_KeepsItsExactText_AsAValue_AsAKey_AndInAURL(string number)
    {
        using var body = await JsonDocumentBodyReader.ReadAsync(Content($$"""{"n":{{number}},"a":[{{number}}]}"""), "step", 1 << 20, 64, 1000, CancellationToken.None);
        var n = ElementValue.Of(body!.Root).Field("n");
        Assert.Equal(number, n.ToJsonString());
        Assert.Equal(number, n.Key());
        Assert.Equal(number, n.ScalarText());
        Assert.Equal(number, ElementValue.Of(body.Root).Field("a").At(0).Key());
    }

    [Fact]
    public async Task Strings_AreUnescaped_ForKeysAndURLs_AndBooleansAreTheirText()
    {
        using var body = await JsonDocumentBodyReader.ReadAsync(Content("""{"s":"a\"b\u00e9\n","t":true,"o":{"a":[1]}}"""), "step", 1 << 20, 64, 1000, CancellationToken.None);
        var root = ElementValue.Of(body!.Root);
        Assert.Equal("a\"b\u00e9\n", root.Field("s").ScalarText());
        Assert.Equal("a\"b\u00e9\n", root.Field("s").Key());
        Assert.Equal("true", root.Field("t").Key());
        Assert.Null(root.Field("o").ScalarText());
        Assert.Equal("""{"a":[1]}""", root.Field("o").Key());
    }

    [Fact]
    public async Task AtTheDepthAndItemLimits_IsRead()
    {
        Assert.Equal("[[[1]]]", await ReadAsync("[[[1]]]", maxDepth: 3));
        Assert.Equal("[1,2,3]", await ReadAsync("[1,2,3]", maxItems: 3));
        Assert.StartsWith("StepFailure composition-too-many-items", await ReadAsync("{\"a\":[1,2,3,4]}", maxItems: 3), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LargerThanTheLimit_FailsTheStep()
    {
        var content = new ByteArrayContent(new byte[100]);
        var failure = await Assert.ThrowsAsync<StepFailure>(() => JsonDocumentBodyReader.ReadAsync(content, "step", 10, 64, 1000, CancellationToken.None).AsTask());
        Assert.Equal("composition-body-too-large", failure.Slug);
    }

    [Fact]
    public async Task ObjectOfManyRepeatedNames_IsReadWhole_WithoutATimeQuadraticInItsSize()
    {
        // A hostile backend: 50,000 names, each twice. Rewriting it must not compare every name with every other.
        var json = new StringBuilder("{");
        for (var pass = 0; pass < 2; pass++)
        {
            for (var i = 0; i < 50_000; i++)
            {
                json.Append(pass + i == 0 ? "" : ",").Append($"\"k{i}\":{pass}");
            }
        }

        // A bound against a hang (a TimeoutException fails the test), not a speed target: it takes well under a second.
        using var body = await Task.Run(async () => await JsonDocumentBodyReader.ReadAsync(Content(json.Append('}').ToString()), "step", 4 << 20, 64, 1000, CancellationToken.None))
            .WaitAsync(TimeSpan.FromSeconds(10));
        var text = Text(w => ElementValue.Of(body!.Root).WriteTo(w));
        Assert.StartsWith("{\"k0\":1,\"k1\":1,", text, StringComparison.Ordinal);
        Assert.EndsWith(",\"k49999\":1}", text, StringComparison.Ordinal);
        Assert.Equal(50_000, text.Split(',').Length);
    }

    /// <summary>The body as the templates write it, or the step's failure.</summary>
    private static async Task<string> ReadAsync(string json, int maxDepth = 64, int maxItems = 1000)
    {
        try
        {
            using var body = await JsonDocumentBodyReader.ReadAsync(Content(json), "step", 1 << 20, maxDepth, maxItems, CancellationToken.None);
            return Text(w => (body is null ? ElementValue.Null : ElementValue.Of(body.Root)).WriteTo(w));
        }
        catch (StepFailure f)
        {
            return $"StepFailure {f.Slug}: {f.Detail}";
        }
    }

    private static ByteArrayContent Content(string json) => new(Encoding.UTF8.GetBytes(json));

    private static string Text(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
