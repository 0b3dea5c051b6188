using System.IO.Hashing;
using System.Runtime.InteropServices;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.LoadBalancing;

/// <summary>The key <c>loadBalancing: hash</c> picks a destination by: a hash of one value of the request.</summary>
internal static class RequestHashKey
{
    /// <summary>The key <paramref name="upstream"/> picks this request's destination by; null when it does not hash, or the request has no such value.</summary>
    public static ulong? For(Upstreams.Upstream upstream, HttpContext context, GatewaySnapshot snapshot, string path, in Admission admission) =>
        upstream.Hashing is { } hashing && TryGet(hashing, context, snapshot, path, admission, out var key) ? key : null;

    /// <summary>The hash of the value <paramref name="hash"/> names; false when the request has none (it is then spread by round robin).</summary>
    private static bool TryGet(HashConfig hash, HttpContext context, GatewaySnapshot snapshot, string path, in Admission admission, out ulong key)
    {
        var request = context.Request;
        switch (hash.On)
        {
            case HashSource.ClientIp:
                if (Hosting.GatewayRequestHandler.ClientAddress(context, snapshot) is not { } address)
                {
                    break;
                }

                // An IPv4 client seen over an IPv6 socket hashes as itself, so the same client keys alike on every listener.
                if (address.IsIPv4MappedToIPv6)
                {
                    address = address.MapToIPv4();
                }

                Span<byte> bytes = stackalloc byte[16];
                if (address.TryWriteBytes(bytes, out var written))
                {
                    key = XxHash3.HashToUInt64(bytes[..written]);
                    return true;
                }

                break;
            case HashSource.Header:
                if (request.Headers.TryGetValue(hash.Name!, out var values) && values.Count > 0 && !string.IsNullOrEmpty(values[0]))
                {
                    return Text(values[0], out key);
                }

                break;
            case HashSource.Cookie:
                if (request.Cookies.TryGetValue(hash.Name!, out var cookie) && !string.IsNullOrEmpty(cookie))
                {
                    return Text(cookie, out key);
                }

                break;
            case HashSource.Query:
                if (request.Query.TryGetValue(hash.Name!, out var parameter) && parameter.Count > 0 && !string.IsNullOrEmpty(parameter[0]))
                {
                    return Text(parameter[0], out key);
                }

                break;
            case HashSource.Application:
                if (admission.Application is { } application)
                {
                    return Text(application.Id, out key);
                }

                break;
            case HashSource.Path:
                return Text(path, out key);
        }

        key = 0;
        return false;
    }

    private static bool Text(string? value, out ulong key)
    {
        key = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(value.AsSpan()));
        return true;
    }
}
