using System.Buffers;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Two translations in a row, through chat completion chunks: <paramref name="first"/> turns a provider's event into
/// chunks (written to a buffer of this call), and <paramref name="second"/> turns each chunk into the client's events,
/// in the same step, so nothing is held back beyond the one provider event. The first keeps the usage and the text for
/// estimates; the second writes what the client reads, its error events included.
/// </summary>
internal sealed class ChainedDialect(StreamDialect first, StreamDialect second) : StreamDialect
{
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    private readonly ArrayBufferWriter<byte> _between = new(1024);

    public override bool FailsBeforeStart(ReadOnlySpan<byte> eventBytes) => first.FailsBeforeStart(eventBytes);

    public override StreamStep Step(AiCall call, ReadOnlySpan<byte> eventBytes, IBufferWriter<byte> writer, out bool wrote, out string? error)
    {
        wrote = false;
        _between.ResetWrittenCount();
        var step = first.Step(call, eventBytes, _between, out _, out error);
        if (step is StreamStep.Malformed or StreamStep.ProviderError)
        {
            return step;
        }

        // The first writes whole events, each ending in a blank line.
        var rest = _between.WrittenSpan;
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf(EventEnd);
            var current = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + EventEnd.Length)..];
            var next = second.Step(call, current, writer, out var any, out error);
            wrote |= any;
            if (next != StreamStep.Continue)
            {
                return next;
            }
        }

        return step;
    }

    public override void WriteError(IBufferWriter<byte> writer, string message) => second.WriteError(writer, message);
}
