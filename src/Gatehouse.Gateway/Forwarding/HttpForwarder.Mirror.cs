using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Upstreams;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Forwarding;

internal sealed partial class HttpForwarder
{
    /// <summary>
    /// Builds the copy of this request for the route's mirror (the same method, target and headers as the route's
    /// service gets, with the mirror service's credential and <c>Gatehouse-Mirror</c>) and hands it to the mirror to
    /// send in the background. The body is copied: the buffer it came from goes back to the pool when this request ends.
    /// </summary>
    private static void SendCopy(HttpContext context, RouteModel route, RequestMirror mirror, Destination destination, HttpMethod method, string pathAndQuery,
        byte[]? buffered, int bufferedLength, string requestId, bool fromTrustedProxy, in Admission admission, Policies.PolicyExchange? policies)
    {
        if (!Uri.TryCreate(destination.BaseAddress + pathAndQuery, in UriOptions, out var uri))
        {
            mirror.Release(destination);
            return;
        }

        var copy = new HttpRequestMessage(method, uri) { Version = mirror.Upstream.RequestVersion, VersionPolicy = mirror.Upstream.VersionPolicy };
        if (buffered is not null)
        {
            copy.Content = new ByteArrayContent(buffered.AsSpan(0, bufferedLength).ToArray());
        }

        if ((CopyRequestHeaders(context, copy, route, destination, requestId, fromTrustedProxy, null, admission, mirror.Upstream.Credential, policies?.Policies.RequestTransform, false)
            ?? policies?.OnRequestHeaders(copy)) is not null)
        {
            copy.Dispose();
            mirror.Release(destination);
            return;
        }

        copy.Headers.TryAddWithoutValidation(RequestMirror.Header, route.Id);
        mirror.Send(copy, destination);
    }
}
