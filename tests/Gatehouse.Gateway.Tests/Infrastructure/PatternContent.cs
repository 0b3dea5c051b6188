using System.Net;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>A request body of pattern bytes, generated while it is sent; chunked when <c>knownLength</c> is false.</summary>
internal sealed class PatternContent(long length, bool knownLength = true, Func<long, Task>? beforeChunk = null) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        PatternBody.WriteAsync(stream, length, beforeChunk);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        PatternBody.WriteAsync(stream, length, beforeChunk, cancellationToken);

    protected override bool TryComputeLength(out long computed)
    {
        computed = knownLength ? length : -1;
        return knownLength;
    }
}
