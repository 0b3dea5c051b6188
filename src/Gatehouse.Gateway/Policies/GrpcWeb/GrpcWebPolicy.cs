using Grpc.AspNetCore.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Gateway.Policies.GrpcWeb;

/// <summary>
/// A route's <c>grpcWeb</c> policy: gRPC's own gRPC-Web middleware (Grpc.AspNetCore.Web), run around the route's later
/// stages for a gRPC-Web call, so the forwarder sends the service an ordinary gRPC call. The middleware turns the
/// request's content type into <c>application/grpc</c> and decodes a base64 (<c>-text</c>) body; on the way back it sets
/// the gRPC-Web content type, writes the service's trailers into the body as gRPC-Web's trailer frame, and base64-encodes
/// it for a text call. Other requests of the route pass untouched.
/// </summary>
internal sealed class GrpcWebPolicy
{
    // The middleware takes its options and logger from an application's services; the gateway gives it a private one.
    private static readonly IServiceProvider Services = new ServiceCollection().AddLogging().BuildServiceProvider();

    private static readonly RequestDelegate Pipeline = Build();

    /// <summary>Runs <paramref name="next"/> (the route's remaining stages) as gRPC when the request is a gRPC-Web call.</summary>
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (!HttpMethods.IsPost(context.Request.Method) || context.Request.ContentType is not { } type
            || !type.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase))
        {
            return next(context);
        }

        context.Features.Set(new Call(next, type.StartsWith("application/grpc-web-text", StringComparison.OrdinalIgnoreCase)));
        return Pipeline(context);
    }

    private static RequestDelegate Build()
    {
        var app = new ApplicationBuilder(Services);
        app.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true });
        app.Run(ForwardAsync);
        return app.Build();
    }

    // Inside the middleware: the forwarder reads the request body and writes the response body as streams, which the
    // middleware offers as pipes only (its response feature has no stream), so both are given as streams over its pipes.
    private static async Task ForwardAsync(HttpContext context)
    {
        var call = context.Features.Get<Call>()!;
        var request = context.Request;
        request.Body = request.BodyReader.AsStream(leaveOpen: true);
        if (call.Text)
        {
            // The decoded body is shorter than the base64 the client declared.
            request.ContentLength = null;
        }

        // gRPC services (and the proxies before them) tell gRPC from other HTTP/2 by it; a browser cannot send it.
        request.Headers.TE = "trailers";
        var web = context.Features.Get<IHttpResponseBodyFeature>()!;
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(new WriterStream(web.Writer), web));
        try
        {
            await call.Next(context).ConfigureAwait(false);
        }
        finally
        {
            context.Features.Set(web);
        }
    }

    /// <summary>The route's remaining stages, and whether the call is base64 text, for the pipeline's end.</summary>
    private sealed record Call(RequestDelegate Next, bool Text);

    /// <summary>
    /// Writes to the middleware's pipe, sending each write at once (the forwarder's writes are a response's flushes).
    /// Written here rather than <c>PipeWriter.AsStream</c>: that asks the pipe for memory without saying how much, and the
    /// middleware's base64 writer then offers none (a text call's answer failed at its first write).
    /// </summary>
    private sealed class WriterStream(System.IO.Pipelines.PipeWriter writer) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.Length > 0)
            {
                buffer.Span.CopyTo(writer.GetSpan(buffer.Length));
                writer.Advance(buffer.Length);
            }

            var flushed = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (flushed.IsCanceled)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async Task FlushAsync(CancellationToken cancellationToken) => await writer.FlushAsync(cancellationToken).ConfigureAwait(false);

        public override void Flush() => throw new NotSupportedException("the response is written asynchronously");

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("the response is written asynchronously");

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
