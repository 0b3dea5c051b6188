using System.Buffers;

namespace Gatehouse.Gateway.Ai;

/// <summary>An OpenAI-compatible provider's stream: each event passed to the client byte for byte, usage read on the way.</summary>
internal sealed class OpenAiStreamDialect(bool usageChunk) : StreamDialect
{
    /// <summary>For a client of chat completions: the usage chunk only if it asked for it.</summary>
    public static readonly OpenAiStreamDialect Instance = new(usageChunk: false);

    /// <summary>For a translation after it in a <see cref="ChainedDialect"/>, which takes its usage from the usage chunk.</summary>
    public static readonly OpenAiStreamDialect Translated = new(usageChunk: true);

    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    public override StreamStep Step(AiCall call, ReadOnlySpan<byte> eventBytes, IBufferWriter<byte> writer, out bool wrote, out string? error)
    {
        error = null;
        var forward = Inspect(call, eventBytes, out var done, out var malformed);
        if (malformed)
        {
            wrote = false;
            return StreamStep.Malformed;
        }

        if (forward)
        {
            writer.Write(eventBytes);
            writer.Write(EventEnd);
        }

        wrote = forward;
        return done ? StreamStep.Done : StreamStep.Continue;
    }

    /// <summary>Reads an event's data for usage and text; false when it is not to be forwarded (an unasked usage chunk).</summary>
    private bool Inspect(AiCall call, ReadOnlySpan<byte> current, out bool done, out bool malformed)
    {
        done = false;
        malformed = false;
        var data = SseReader.Data(current);
        if (data.IsEmpty)
        {
            return true; // comments and keep-alives pass
        }

        if (data.SequenceEqual("[DONE]"u8))
        {
            done = true;
            return true;
        }

        AiUsage? usage = null;
        if (!AiJson.TryScan(data, ref usage, call.CompletionText))
        {
            malformed = true;
            return false;
        }

        if (usage is { } seen)
        {
            call.Usage = seen;
            // OpenAI's usage chunk has no choices; a client that did not ask for it may not expect such a chunk.
            return usageChunk || call.ClientAskedUsage || data.IndexOf("\"choices\":[]"u8) < 0;
        }

        return true;
    }
}
