using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// Accepts gRPC-Web calls (browsers: <c>application/grpc-web</c> and the base64 <c>application/grpc-web-text</c>) and
/// forwards them to the service as gRPC over HTTP/2, turning the answer back into gRPC-Web (its trailers at the end of
/// the body, base64 when the call was text). Native gRPC calls to the same route pass as they are. The service needs
/// <c>protocol: http2</c>.
/// </summary>
[EmptyAllowed]
public sealed record GrpcWebConfig
{
    /// <summary>Whether gRPC-Web calls are translated; <c>false</c> switches a service's default off on one route.</summary>
    public bool Enabled { get; init; } = true;
}
