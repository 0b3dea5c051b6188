using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gatehouse.Gateway.Policies;

/// <summary>
/// Stands in for the response body while a policy needs to see it: <see cref="BodyMode.Tee"/> passes every write on and
/// keeps a copy (for the cache) up to a limit; <see cref="BodyMode.Hold"/> keeps it all and sends nothing, not even the
/// headers, until the policy has done its work (a body to reshape, or an upstream failure that a stale cached answer
/// may replace). The forwarder writes to it as to any response body.
/// </summary>
internal sealed class PolicyResponseBody : Stream, IHttpResponseBodyFeature
{
    private readonly IHttpResponseBodyFeature _inner;
    private MemoryStream? _copy;
    private long _limit;
    private PipeWriter? _writer;

    public PolicyResponseBody(IHttpResponseBodyFeature inner, BodyMode mode, long limit)
    {
        _inner = inner;
        Mode = mode;
        _limit = limit;
        _copy = new MemoryStream();
    }

    public BodyMode Mode { get; private set; }

    /// <summary>More than the limit was written: the copy is incomplete and was dropped.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>What was kept (the whole body when nothing <see cref="Overflowed"/>).</summary>
    public ReadOnlyMemory<byte> Copied => _copy is null ? default : _copy.GetBuffer().AsMemory(0, (int)_copy.Length);

    /// <summary>Switches mode; <see cref="BodyMode.Tee"/> from <see cref="BodyMode.Hold"/> drops what was held (nothing was passed on).</summary>
    public void Switch(BodyMode mode, long limit)
    {
        Mode = mode;
        _limit = limit;
        _copy = new MemoryStream();
        Overflowed = false;
    }

    /// <summary>Stops keeping a copy (the cache gave up on this response); writes still pass on in tee mode.</summary>
    public void StopCopying()
    {
        _copy = null;
        Overflowed = true;
    }

    public Stream Stream => this;

    public PipeWriter Writer => _writer ??= PipeWriter.Create(this, new StreamPipeWriterOptions(leaveOpen: true));

    public void DisableBuffering() => _inner.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default) =>
        Mode == BodyMode.Tee ? _inner.StartAsync(cancellationToken) : Task.CompletedTask;

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("Policies never send files.");

    public Task CompleteAsync() => Mode == BodyMode.Tee ? _inner.CompleteAsync() : Task.CompletedTask;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Keep(buffer.Span);
        if (Mode == BodyMode.Tee)
        {
            await _inner.Stream.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The response body is written asynchronously.");

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        Mode == BodyMode.Tee ? _inner.Stream.FlushAsync(cancellationToken) : Task.CompletedTask;

    public override void Flush()
    {
    }

    private void Keep(ReadOnlySpan<byte> data)
    {
        if (_copy is null)
        {
            return;
        }

        if (_copy.Length + data.Length > _limit)
        {
            StopCopying();
            return;
        }

        _copy.Write(data);
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>What <see cref="PolicyResponseBody"/> does with writes.</summary>
internal enum BodyMode
{
    /// <summary>Pass on, and keep a copy up to the limit.</summary>
    Tee,
    /// <summary>Keep up to the limit, pass nothing on.</summary>
    Hold,
}
