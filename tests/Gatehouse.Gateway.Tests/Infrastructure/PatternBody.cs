namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>
/// A deterministic body of any length that is never held whole: byte <c>i</c> is <c>i % 251</c>. Writers send
/// the same pre-filled buffer over and over; readers check what they got with <see cref="PatternVerifier"/>.
/// </summary>
internal static class PatternBody
{
    private const int Period = 251;

    /// <summary>
    /// 261 whole periods (65,511 bytes) plus one more, so that a window of up to <see cref="ChunkSize"/> bytes
    /// can start at any offset within a period.
    /// </summary>
    private static readonly byte[] Pattern = CreatePattern();

    /// <summary>The largest chunk written at once; a whole number of periods, so every chunk starts at offset 0.</summary>
    public const int ChunkSize = Period * 261;

    private static byte[] CreatePattern()
    {
        var bytes = new byte[ChunkSize + Period];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(i % Period);
        }

        return bytes;
    }

    /// <summary>Writes <paramref name="length"/> pattern bytes; <paramref name="beforeChunk"/> runs before each chunk with the count written so far.</summary>
    public static async Task WriteAsync(Stream stream, long length, Func<long, Task>? beforeChunk = null, CancellationToken cancellationToken = default)
    {
        long written = 0;
        while (written < length)
        {
            if (beforeChunk is not null)
            {
                await beforeChunk(written);
            }

            var n = (int)Math.Min(ChunkSize, length - written);
            await stream.WriteAsync(Pattern.AsMemory(0, n), cancellationToken);
            written += n;
        }
    }

    /// <summary>True when <paramref name="data"/> is the pattern starting at absolute <paramref name="position"/>.</summary>
    public static bool Matches(ReadOnlySpan<byte> data, long position)
    {
        while (!data.IsEmpty)
        {
            var offset = (int)(position % Period);
            var n = Math.Min(data.Length, ChunkSize);
            if (!data[..n].SequenceEqual(Pattern.AsSpan(offset, n)))
            {
                return false;
            }

            data = data[n..];
            position += n;
        }

        return true;
    }
}
