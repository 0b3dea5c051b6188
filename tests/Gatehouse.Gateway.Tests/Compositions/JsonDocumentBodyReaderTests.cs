using System.Buffers;
using System.Text;
using System.Text.Json;
using Gatehouse.Gateway.Composition;
using Gatehouse.Model.Compositions;

namespace Gatehouse.Gateway.Tests.Compositions;

/// <summary>The element value model prototype's body reader (#4): what JsonBodyReader reads, it reads alike; what it refuses, it refuses alike.</summary>
public sealed class JsonDocumentBodyReaderTests
{
    [Theory]
    [InlineData("""{"n":24.90,"a":[1.0,-0,1.5e3,1E+400,12345678901234567890123456789012345,0.1,-7]}""")]
    [InlineData("""{"s":"a\"b\u00e9\n","t":true,"f":false,"z":null,"o":{"a":[1,[2,{}],[]]}}""")]
    [InlineData("""{"a":1,"b":2,"a":3}""")]
    [InlineData("""{"o":{"x":[1],"y":2,"x":{"x":1,"x":[2,2]}},"o":{"k":1,"x":0}}""")]
    [InlineData("""  [1, "x" , {"a\u0062":1,"ab":2}]  """)]
    [InlineData("5")]
    [InlineData("\"text\"")]
    [InlineData("null")]
    [InlineData("")]
    [InlineData("[[[1]]]")]
    [InlineData("[1,2,3,4]")]
    public async Task Body_IsReadAsTheTreeReaderReadsIt(string json)
    {
        var (expected, actual) = await BothAsync(json);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData("{\"a\":1} x")]
    [InlineData("{\"a\":1}{}")]
    [InlineData("   ")]
    [InlineData("{\"a\":")]
    [InlineData("[1,]")]
    [InlineData("[[[[1]]]]")]
    [InlineData("[[[[1]]]")]
    [InlineData("[[1,2,3,4,5],[[[[")]
    [InlineData("[1,2,3,4,5]")]
    [InlineData("[[1,2,3,4,5],[[[[1]]]]]")]
    [InlineData("[[[[1]]],[1,2,3,4,5]]")]
    [InlineData("{\"a\":[1,2,3,4,5],\"a\":1}")]
    [InlineData("{\"a\":1,\"a\":2,}")]
    [InlineData("{\"a\":[[[[]]]],\"a\":1}")]
    public async Task Refusals_AreTheTreeReadersRefusals(string json)
    {
        var (expected, actual) = await BothAsync(json, maxDepth: 3, maxItems: 4);
        Assert.StartsWith("StepFailure", expected, StringComparison.Ordinal);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task LargerThanTheLimit_FailsTheStep()
    {
        var content = new ByteArrayContent(new byte[100]);
        var failure = await Assert.ThrowsAsync<StepFailure>(() => JsonDocumentBodyReader.ReadAsync(content, "step", 10, 64, 1000, CancellationToken.None));
        Assert.Equal("composition-body-too-large", failure.Slug);
    }

    private static async Task<(string Expected, string Actual)> BothAsync(string json, int maxDepth = 64, int maxItems = 1000)
    {
        string expected, actual;
        try
        {
            var node = await JsonBodyReader.ReadAsync(Content(json), "step", 1 << 20, maxDepth, maxItems, CancellationToken.None);
            expected = Text(w => { if (node is null) { w.WriteNullValue(); } else { node.WriteTo(w); } });
        }
        catch (StepFailure f)
        {
            expected = $"StepFailure {f.Slug}: {f.Detail}";
        }

        try
        {
            using var body = await JsonDocumentBodyReader.ReadAsync(Content(json), "step", 1 << 20, maxDepth, maxItems, CancellationToken.None);
            actual = Text(w => (body is null ? ElementValue.Null : ElementValue.Of(body.Root)).WriteTo(w));
        }
        catch (StepFailure f)
        {
            actual = $"StepFailure {f.Slug}: {f.Detail}";
        }

        return (expected, actual);
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
