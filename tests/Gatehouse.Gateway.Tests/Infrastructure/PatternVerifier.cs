namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>Counts pattern bytes read and remembers whether all of them were right. Thread-safe reads of <see cref="Count"/>.</summary>
internal sealed class PatternVerifier
{
    private long _count;
    private volatile bool _corrupt;

    public long Count => Interlocked.Read(ref _count);

    public bool Intact => !_corrupt;

    public void Add(ReadOnlySpan<byte> data)
    {
        if (!PatternBody.Matches(data, Count))
        {
            _corrupt = true;
        }

        Interlocked.Add(ref _count, data.Length);
    }

    /// <summary>Reads <paramref name="stream"/> to its end through one reused buffer.</summary>
    public async Task ReadToEndAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            Add(buffer.AsSpan(0, read));
        }
    }
}
