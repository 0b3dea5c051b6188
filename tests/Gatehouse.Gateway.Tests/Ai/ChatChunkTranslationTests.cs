using System.Buffers;
using System.Text;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Ai.Anthropic;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// The translations that read chat chunks (to Anthropic's events, to the Responses API's) end a stream the same way on
/// a provider's error chunk and on data that is not a chunk, writing nothing for it.
/// </summary>
[Trait("Issue", "22")]
public sealed class ChatChunkTranslationTests
{
    public static TheoryData<string> Dialects => ["messages", "responses"];

    [Theory]
    [MemberData(nameof(Dialects))]
    public void AnErrorChunk_EndsTheStreamAsTheProvidersError_NamingItsType(string dialect)
    {
        var (step, written, error) = Step(dialect, """data: {"error":{"message":"boom","type":"server_error"}}""");

        Assert.Equal((StreamStep.ProviderError, ""), (step, written));
        Assert.Contains("(server_error)", error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Dialects))]
    public void DataThatIsNotAChunkObject_IsMalformed(string dialect)
    {
        Assert.Equal((StreamStep.Malformed, ""), Step(dialect, "data: {not json") is var (s, w, _) ? (s, w) : default);
        Assert.Equal((StreamStep.Malformed, ""), Step(dialect, "data: [1,2]") is var (s2, w2, _) ? (s2, w2) : default);
    }

    private static (StreamStep Step, string Written, string? Error) Step(string dialect, string eventText)
    {
        StreamDialect translation = dialect == "messages" ? new MessagesStream() : new ResponsesFromChatStream("resp_test", 1);
        var call = new AiCall(new DefaultHttpContext(), "req", TokenReservation.None, clientAskedUsage: true);
        var output = new ArrayBufferWriter<byte>();
        var step = translation.Step(call, Encoding.UTF8.GetBytes(eventText), output, out _, out var error);
        return (step, Encoding.UTF8.GetString(output.WrittenSpan), error);
    }
}
