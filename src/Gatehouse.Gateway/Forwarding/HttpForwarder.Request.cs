using System.Security.Cryptography;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Gateway.Forwarding;

internal sealed partial class HttpForwarder
{
    /// <summary>
    /// Copies the client's headers onto <paramref name="message"/>, minus hop-by-hop headers, those the client named in
    /// <c>Connection</c>, and those the gateway manages, then adds the gateway's own (<c>X-Forwarded-*</c>,
    /// <c>X-Request-Id</c>, <c>Host</c>, <c>Gatehouse-*</c>, the service's credential) after the copy, so no client header
    /// can remove or replace them. A name is checked as CGI-style servers read it (<c>_</c> as <c>-</c>), and by default
    /// names with <c>_</c> are not forwarded at all, as nginx does. Returns the name of the first header that cannot be
    /// forwarded (a value with a character other than HTAB, SP and visible ASCII, or a name that is not an HTTP token),
    /// or null when all are safe.
    /// </summary>
    /// <param name="upgradeProtocol">For an upgrade (HTTP/1.1 Upgrade or HTTP/2 extended CONNECT), the protocols to ask for; else null.</param>
    private static string? CopyRequestHeaders(HttpContext context, HttpRequestMessage message, RouteModel route, Destination destination, string requestId, bool fromTrustedProxy, string? upgradeProtocol, in Admission admission, ServiceCredentialConfig? serviceCredential,
        Policies.Transforms.RequestTransform? transform, bool traceContextReplaced)
    {
        var request = context.Request;
        var headers = request.Headers;
        var connectionTokens = ConnectionTokens(headers.Connection);
        var content = message.Content;

        foreach (var (name, values) in headers)
        {
            // Kestrel lets some non-token bytes through in names (DEL over HTTP/1.1; CR LF over HTTP/2): refused, even
            // for a header that would be dropped, since the request is malformed (RFC 9110 §5.1).
            if (!HeaderRules.IsToken(name))
            {
                return name;
            }

            var read = name;
            if (name.Contains('_', StringComparison.Ordinal))
            {
                if (!route.ForwardUnderscoreHeaders)
                {
                    continue;
                }

                read = HeaderRules.AsServersRead(name);
            }

            if (HeaderRules.NotForwardedRequest.Contains(read)
                || read.StartsWith(HeaderRules.GatewayPrefix, StringComparison.OrdinalIgnoreCase)
                || (!fromTrustedProxy && read.StartsWith(HeaderRules.ForwardedPrefix, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            // The gateway writes its own trace context for the upstream (StartAttemptSpan): the client's is left out here
            // rather than copied and removed again, which cost two header lookups a request.
            if (traceContextReplaced && (string.Equals(read, "traceparent", StringComparison.OrdinalIgnoreCase) || string.Equals(read, "tracestate", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            if (connectionTokens is not null && Contains(connectionTokens, read))
            {
                continue;
            }

            if (admission.StripHeader is { } credential && string.Equals(read, credential, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            // The gateway's own credential for the service goes in this header below; nothing the client sent may stand beside it.
            if (serviceCredential is not null && string.Equals(read, serviceCredential.Header, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!AllSafe(values))
            {
                return name;
            }

            // Removed or replaced by the route's request transform (issue 23), which adds its own values afterwards.
            if (transform is not null && transform.Replaces(read))
            {
                continue;
            }

            // Leading and trailing SP/HTAB are not part of a value (RFC 9110 §5.5); an HTTP/1.1 server strips them, but
            // Kestrel's HTTP/2 layer passes them on, and an h2 upstream would see a different value than an HTTP/1.1 one.
            var value = WithoutOuterWhitespace(values);

            if (HeaderRules.ContentHeaders.Contains(name))
            {
                content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)value);
                continue;
            }

            // The name was checked above; false here would be a gap in that check: refuse the request rather than
            // silently forward it without that header.
            var added = value.Count == 1
                ? message.Headers.TryAddWithoutValidation(name, value.ToString())
                : message.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)value);
            if (!added)
            {
                return name;
            }
        }

        // TE: trailers is end-to-end for HTTP/2 upstreams (gRPC needs it); other TE values are hop-by-hop.
        if (string.Equals(headers.TE, "trailers", StringComparison.OrdinalIgnoreCase) && message.Version.Major >= 2)
        {
            message.Headers.TryAddWithoutValidation(HeaderNames.TE, "trailers");
        }

        if (upgradeProtocol is not null)
        {
            if (!HeaderRules.IsSafeValue(upgradeProtocol))
            {
                return HeaderNames.Upgrade;
            }

            message.Headers.TryAddWithoutValidation(HeaderNames.Connection, "Upgrade");
            message.Headers.TryAddWithoutValidation(HeaderNames.Upgrade, upgradeProtocol);

            // An HTTP/2 WebSocket client sends no key (RFC 8441 §5); the HTTP/1.1 handshake upstream needs one.
            // Not when the route's transform sets or removes the key: its value (or none) is what goes upstream.
            if (!headers.ContainsKey(HeaderNames.SecWebSocketKey) && string.Equals(upgradeProtocol, "websocket", StringComparison.OrdinalIgnoreCase)
                && transform?.Replaces(HeaderNames.SecWebSocketKey) != true)
            {
                message.Headers.TryAddWithoutValidation(HeaderNames.SecWebSocketKey, Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)));
            }
        }

        // X-Forwarded-*: believed from trusted proxies only, and only then read; from anyone else they are replaced.
        StringValues incomingFor = default, incomingProto = default, incomingHost = default, incomingPrefix = default, forwarded = default;
        if (fromTrustedProxy)
        {
            incomingFor = headers["X-Forwarded-For"];
            incomingProto = headers["X-Forwarded-Proto"];
            incomingHost = headers["X-Forwarded-Host"];
            incomingPrefix = headers["X-Forwarded-Prefix"];
            forwarded = headers["Forwarded"];
            if (!(AllSafe(incomingFor) && AllSafe(incomingProto) && AllSafe(incomingHost) && AllSafe(incomingPrefix) && AllSafe(forwarded)))
            {
                return "X-Forwarded-*";
            }
        }

        var clientHost = request.Host.Value;
        if (!HeaderRules.IsSafeValue(clientHost))
        {
            return HeaderNames.Host;
        }

        var remote = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        message.Headers.TryAddWithoutValidation("X-Forwarded-For", incomingFor.Count > 0 ? $"{string.Join(", ", incomingFor.ToArray())}, {remote}" : remote);
        message.Headers.TryAddWithoutValidation("X-Forwarded-Proto", incomingProto.Count > 0 ? incomingProto.ToString() : request.Scheme);
        message.Headers.TryAddWithoutValidation("X-Forwarded-Host", incomingHost.Count > 0 ? incomingHost.ToString() : clientHost);
        // The prefix the route took off, after any a trusted proxy in front took off before it.
        if (route.ForwardedPrefix is { } prefix)
        {
            message.Headers.TryAddWithoutValidation("X-Forwarded-Prefix", incomingPrefix.Count > 0 ? incomingPrefix.ToString().TrimEnd('/') + prefix : prefix);
        }
        else if (incomingPrefix.Count > 0)
        {
            message.Headers.TryAddWithoutValidation("X-Forwarded-Prefix", incomingPrefix.ToString());
        }
        if (forwarded.Count > 0)
        {
            message.Headers.TryAddWithoutValidation("Forwarded", (IEnumerable<string>)forwarded);
        }

        message.Headers.TryAddWithoutValidation("X-Request-Id", requestId);
        if (admission.Plan is { } plan)
        {
            message.Headers.TryAddWithoutValidation(Admission.PlanHeader, plan.Name);
            if (admission.Application is { } app)
            {
                message.Headers.TryAddWithoutValidation(Admission.ApplicationHeader, app.Id);
            }
        }

        if (destination.HostHeader is { } host)
        {
            message.Headers.Host = host;
        }

        if (serviceCredential is not null)
        {
            message.Headers.TryAddWithoutValidation(serviceCredential.Header, serviceCredential.Value);
        }

        return null;
    }

    private static StringValues WithoutOuterWhitespace(StringValues values)
    {
        if (values.Count == 1)
        {
            var one = values.ToString();
            return HasOuterWhitespace(one) ? one.Trim(' ', '\t') : values;
        }

        string[]? trimmed = null;
        for (var i = 0; i < values.Count; i++)
        {
            if (HasOuterWhitespace(values[i]))
            {
                trimmed ??= values.ToArray()!;
                trimmed[i] = values[i]!.Trim(' ', '\t');
            }
        }

        return trimmed is null ? values : new StringValues(trimmed);
    }

    private static bool HasOuterWhitespace(string? value) =>
        value is { Length: > 0 } && (value[0] is ' ' or '\t' || value[^1] is ' ' or '\t');

    private static bool AllSafe(StringValues values)
    {
        if (values.Count == 1)
        {
            return HeaderRules.IsSafeValue(values.ToString());
        }

        foreach (var v in values)
        {
            if (!HeaderRules.IsSafeValue(v))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Header names listed in <c>Connection</c>, beyond the usual keep-alive/close/upgrade; null when there are none.</summary>
    private static List<string>? ConnectionTokens(StringValues connection)
    {
        if (connection.Count == 0)
        {
            return null;
        }

        List<string>? tokens = null;
        foreach (var value in connection)
        {
            if (value is null)
            {
                continue;
            }

            foreach (var range in value.AsSpan().Split(','))
            {
                var token = value.AsSpan(range).Trim();
                if (token.IsEmpty || token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
                    || token.Equals("close", StringComparison.OrdinalIgnoreCase) || token.Equals("upgrade", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                (tokens ??= []).Add(token.ToString());
            }
        }

        return tokens;
    }

    private static bool Contains(List<string> tokens, string name)
    {
        foreach (var t in tokens)
        {
            if (string.Equals(t, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
