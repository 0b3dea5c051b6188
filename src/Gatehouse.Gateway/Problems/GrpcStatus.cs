using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Problems;

/// <summary>
/// The gateway's own answers to gRPC calls (<c>Content-Type: application/grpc…</c>, gRPC-Web included): a trailers-only
/// response (HTTP 200, <c>grpc-status</c> and <c>grpc-message</c> in the headers, no body), as gRPC clients expect, in
/// place of problem+json. Without it a client saw "Bad gRPC response. HTTP status code: 401" and lost the reason, and
/// a 429 read as UNAVAILABLE (retried at once) rather than RESOURCE_EXHAUSTED.
/// </summary>
/// <remarks>
/// Written here: ASP.NET Core's gRPC server writes these only for its own services, and the mapping from a gateway's
/// HTTP status to a gRPC code is the gateway's choice (the codes follow gRPC's status-code guide, doc/statuscodes.md,
/// with 404 and 405 as UNIMPLEMENTED as in its HTTP-to-gRPC mapping, doc/http-grpc-status-mapping.md).
/// </remarks>
internal static class GrpcStatus
{
    /// <summary>True for a gRPC or gRPC-Web request, by its content type.</summary>
    public static bool IsGrpc(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    /// <summary>The gRPC status code for a gateway answer of HTTP <paramref name="status"/>.</summary>
    public static int Code(int status) => status switch
    {
        400 or 415 or 422 => 3, // INVALID_ARGUMENT
        401 => 16, // UNAUTHENTICATED
        403 => 7, // PERMISSION_DENIED
        404 or 405 or 501 => 12, // UNIMPLEMENTED
        408 or 504 => 4, // DEADLINE_EXCEEDED
        409 => 10, // ABORTED
        413 or 429 or 431 => 8, // RESOURCE_EXHAUSTED
        499 => 1, // CANCELLED
        500 => 13, // INTERNAL
        502 or 503 => 14, // UNAVAILABLE
        _ => 2, // UNKNOWN
    };

    /// <summary>True when the service's answer is a gRPC one (its content type), so its outcome is in <c>grpc-status</c>.</summary>
    public static bool IsGrpcResponse(HttpResponse response) =>
        response.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The HTTP status a gRPC call that ended with a <c>grpc-status</c> other than OK is recorded as (usage, metrics, the
    /// access log, traces), as Google's API design maps the codes (google/rpc/code.proto): UNAVAILABLE 503, INTERNAL 500,
    /// NOT_FOUND 404, RESOURCE_EXHAUSTED 429… Null for OK or no status: the call is recorded as the HTTP 200 it was.
    /// Without it every failed gRPC call counted as a success in the analytics' error rates.
    /// </summary>
    public static int? RecordedStatus(System.Net.Http.HttpResponseMessage response)
    {
        if (!TryStatus(response.TrailingHeaders, out var code) && !TryStatus(response.Headers, out code))
        {
            return null;
        }

        return code switch
        {
            0 => null,
            1 => 499, // CANCELLED
            3 or 9 or 11 => 400, // INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE
            4 => 504, // DEADLINE_EXCEEDED
            5 => 404, // NOT_FOUND
            6 or 10 => 409, // ALREADY_EXISTS, ABORTED
            7 => 403, // PERMISSION_DENIED
            8 => 429, // RESOURCE_EXHAUSTED
            12 => 501, // UNIMPLEMENTED
            14 => 503, // UNAVAILABLE
            16 => 401, // UNAUTHENTICATED
            _ => 500, // UNKNOWN, INTERNAL, DATA_LOSS, and codes past the list
        };
    }

    private static bool TryStatus(System.Net.Http.Headers.HttpHeaders headers, out int code)
    {
        code = 0;
        return headers.NonValidated.TryGetValues("grpc-status", out var values) && values.Count > 0
            && int.TryParse(values.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out code);
    }

    /// <summary>Writes the trailers-only answer; the problem's type goes in <c>gatehouse-problem</c>, its HTTP status in <c>gatehouse-status</c>.</summary>
    public static void WriteTrailersOnly(HttpContext context, int status, string slug, string title, string detail)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        // The request's own type (application/grpc, application/grpc+proto, application/grpc-web…), parameters dropped.
        var type = context.Request.ContentType!;
        var semicolon = type.IndexOf(';', StringComparison.Ordinal);
        response.ContentType = (semicolon < 0 ? type : type[..semicolon]).Trim();
        response.Headers["grpc-status"] = Code(status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = PercentEncode($"{title}: {detail}");
        response.Headers["gatehouse-problem"] = ProblemWriter.TypePrefix + slug;
        response.Headers["gatehouse-status"] = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.ContentLength = 0;
        if (context.Features.Get<Observability.RequestObservation>() is { } observation)
        {
            observation.Status = status;
        }
    }

    // grpc-message is percent-encoded UTF-8: every byte outside printable ASCII, and '%' itself (gRPC's PROTOCOL-HTTP2.md).
    private static string PercentEncode(string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        var text = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }
}
