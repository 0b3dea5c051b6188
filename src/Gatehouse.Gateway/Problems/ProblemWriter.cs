using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gatehouse.Gateway.Problems;

/// <summary>Writes RFC 9457 <c>application/problem+json</c> responses with stable type URIs.</summary>
internal static class ProblemWriter
{
    /// <summary>Prefix of every problem type Gatehouse produces; the slugs are listed in docs/problems.md.</summary>
    public const string TypePrefix = "urn:gatehouse:problem:";

    // The default encoder writes ' as \u0027, and details quote names with it. problem+json is never embedded in
    // HTML by the gateway, so the relaxed encoder (which still escapes control characters and quotes) is safe here.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Replaces whatever response was being prepared with the problem. <paramref name="headers"/> are set after
    /// that reset, so they survive it: <c>Allow</c> on a 405, <c>Retry-After</c> on a 429.
    /// </summary>
    /// <param name="extensions">Writes extension members (such as <c>errors</c>) into the problem object.</param>
    public static async Task WriteAsync(HttpContext context, int status, string slug, string title, string detail, string? requestId = null,
        KeyValuePair<string, string>[]? headers = null, Action<Utf8JsonWriter>? extensions = null)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            context.Abort();
            return;
        }

        response.Clear();
        if (requestId is not null)
        {
            response.Headers["X-Request-Id"] = requestId;
        }

        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                response.Headers[name] = value;
            }
        }

        if (GrpcStatus.IsGrpc(context.Request))
        {
            // A gRPC client reads a problem as a status, not as a body it cannot parse.
            GrpcStatus.WriteTrailersOnly(context, status, slug, title, detail);
            return;
        }

        response.StatusCode = status;
        response.ContentType = "application/problem+json";

        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("type", TypePrefix + slug);
            json.WriteString("title", title);
            json.WriteNumber("status", status);
            json.WriteString("detail", detail);
            json.WriteString("instance", context.Request.Path.Value);
            if (requestId is not null)
            {
                json.WriteString("requestId", requestId);
            }

            extensions?.Invoke(json);

            json.WriteEndObject();
        }

        response.ContentLength = buffer.WrittenCount;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>413 <c>body-too-large</c>, naming the limit in force for this request; for a declared length and a streamed body alike.</summary>
    public static Task WriteBodyTooLargeAsync(HttpContext context, string requestId)
    {
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        var detail = limit is { } bytes
            ? $"The request body is larger than the {bytes} bytes this gateway accepts; send a smaller body."
            : "The request body is larger than this gateway accepts; send a smaller body.";
        return WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "body-too-large", "Request body too large", detail, requestId);
    }
}
