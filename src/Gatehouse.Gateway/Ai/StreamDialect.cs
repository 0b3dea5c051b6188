using System.Buffers;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// How one provider's stream events become the events of the client's API: passed through as they are
/// (<see cref="OpenAiStreamDialect"/>, <see cref="ResponsesStreamDialect"/>, <see cref="Anthropic.AnthropicPassThrough"/>)
/// or translated (<see cref="Anthropic.AnthropicStream"/>, <see cref="Anthropic.MessagesStream"/>, and
/// <see cref="ResponsesFromChatStream"/> after another in a <see cref="ChainedDialect"/>). One instance per call.
/// </summary>
internal abstract class StreamDialect
{
    /// <summary>True when the provider's first event says the call failed: nothing was sent yet, so the next provider may serve it.</summary>
    public virtual bool FailsBeforeStart(ReadOnlySpan<byte> eventBytes) => false;

    /// <summary>
    /// Writes (without flushing) what the client gets for one provider event, and records usage and text on
    /// <paramref name="call"/>. <paramref name="wrote"/> says whether anything was written;
    /// <paramref name="error"/> is set with <see cref="StreamStep.ProviderError"/>.
    /// </summary>
    public abstract StreamStep Step(AiCall call, ReadOnlySpan<byte> eventBytes, IBufferWriter<byte> writer, out bool wrote, out string? error);

    /// <summary>Writes the event that ends a broken stream: chat completions' <c>data: {"error":{…}}</c> unless the API has its own.</summary>
    public virtual void WriteError(IBufferWriter<byte> writer, string message)
    {
        writer.Write("data: "u8);
        writer.Write(AiJson.ErrorBody("api_error", "stream_interrupted", message));
        writer.Write("\n\n"u8);
    }
}

/// <summary>What a stream event meant.</summary>
internal enum StreamStep
{
    /// <summary>More is to come.</summary>
    Continue,
    /// <summary>The stream is complete (its end was written to the client).</summary>
    Done,
    /// <summary>The event is not what the provider's API sends; the stream is ended with an error event.</summary>
    Malformed,
    /// <summary>The provider reported an error mid-stream; the stream is ended with an error event.</summary>
    ProviderError,
}
