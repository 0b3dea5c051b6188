using System.Buffers.Binary;
using System.Net.Http.Headers;
using Google.Protobuf;
using Grpc.Health.V1;

namespace Gatehouse.Gateway.Health;

/// <summary>
/// <c>healthCheck.active.grpc</c>: one unary call of gRPC's standard health check, <c>grpc.health.v1.Health/Check</c>,
/// made with the upstream's own HTTP/2 client (the one requests go through), its messages those of the Grpc.HealthCheck
/// package. Healthy when the call ends with <c>grpc-status: 0</c> and answers <c>SERVING</c>.
/// </summary>
/// <remarks>
/// A full gRPC client (Grpc.Net.Client) is not used for one call: it would open its own connections, beside the pool
/// the probe is meant to test. The framing written here is gRPC's five-byte message prefix and nothing else.
/// </remarks>
internal static class GrpcHealthProbe
{
    private const int MaxAnswer = 64 * 1024;

    /// <summary>The Check call for <paramref name="service"/> ("" asks about the whole server).</summary>
    public static HttpRequestMessage Request(string baseAddress, string service)
    {
        var message = new HealthCheckRequest { Service = service }.ToByteArray();
        var framed = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)message.Length);
        message.CopyTo(framed, 5);
        var request = new HttpRequestMessage(HttpMethod.Post, baseAddress + "/grpc.health.v1.Health/Check") { Content = new ByteArrayContent(framed) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("TE", "trailers");
        return request;
    }

    /// <summary>Null when the answer says SERVING, else why not.</summary>
    public static async Task<string?> JudgeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if ((int)response.StatusCode != 200)
        {
            return $"HTTP {(int)response.StatusCode}";
        }

        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if ((Status(response.TrailingHeaders) ?? Status(response.Headers)) is not { } code)
        {
            return "the gRPC call ended without a grpc-status";
        }

        if (code != "0")
        {
            return $"grpc-status {code}";
        }

        if (body.Length < 5 || body.Length > MaxAnswer || body[0] != 0 || BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1)) != body.Length - 5)
        {
            return "not one uncompressed gRPC message";
        }

        try
        {
            var answer = HealthCheckResponse.Parser.ParseFrom(body.AsSpan(5));
            return answer.Status == HealthCheckResponse.Types.ServingStatus.Serving ? null : $"health status {answer.Status}";
        }
        catch (InvalidProtocolBufferException e)
        {
            return $"not a health check answer ({e.Message})";
        }
    }

    private static string? Status(HttpHeaders headers) =>
        headers.NonValidated.TryGetValues("grpc-status", out var values) && values.Count == 1 ? values.ToString() : null;
}
