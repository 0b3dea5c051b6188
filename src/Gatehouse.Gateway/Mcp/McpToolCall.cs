using Gatehouse.Gateway.Access;
using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Gateway.Routing;
using Gatehouse.Model.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gatehouse.Gateway.Mcp;

/// <summary>
/// Runs a tool call as a request through the gateway's own request handler, in process, pinned to the route of the tool's
/// operation (<see cref="RoutePin"/>): the same authentication (the caller's key, presented again), plan grant,
/// read/write, limits, forwarding and usage records as a request from outside, but no route lookup by path or host.
/// Arguments only fill the operation's path parameters (each one percent-encoded segment, as compositions encode them),
/// its query and its JSON body: they can never change which operation or path is called.
/// </summary>
internal static class McpToolCall
{
    /// <summary>A response larger than this is cut from the tool result (the call itself completes).</summary>
    private const int MaxResult = 1024 * 1024;

    public readonly record struct Outcome(int Status, string Body, bool IsJson);

    /// <summary>The request target for <paramref name="arguments"/>, or the client's mistake as text.</summary>
    public static string? BuildTarget(McpTool tool, IReadOnlyDictionary<string, JsonElement> arguments, out string? error)
    {
        error = null;
        var target = new StringBuilder(64);
        var template = PathTemplate.TryParse(tool.Operation.Path, out _)!;
        foreach (var segment in template.Segments)
        {
            target.Append('/');
            if (segment.Kind == SegmentKind.Literal)
            {
                target.Append(segment.Value);
                continue;
            }

            if (!arguments.TryGetValue(segment.Value, out var value) || Scalar(value) is not { Length: > 0 } text)
            {
                error = $"'{segment.Value}' is required: a string or a number.";
                return null;
            }

            target.Append(UpstreamPathTemplate.EncodeSegment(text));
        }

        if (template.Segments.Count == 0)
        {
            target.Append('/');
        }

        var separator = '?';
        foreach (var name in tool.QueryParameters)
        {
            if (!arguments.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            foreach (var item in value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToArray() : [value])
            {
                if (Scalar(item) is not { } text)
                {
                    error = $"'{name}' must be a string, a number or a boolean (or a list of them).";
                    return null;
                }

                target.Append(separator).Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(text));
                separator = '&';
            }
        }

        return target.ToString();
    }

    public static async Task<Outcome> RunAsync(GatewayRequestHandler handler, HttpContext outer, McpCaller caller, McpTool tool, string target, JsonElement? body, CancellationToken ct)
    {
        var query = target.IndexOf('?', StringComparison.Ordinal);
        var encodedPath = query < 0 ? target : target[..query];
        var headers = new HeaderDictionary
        {
            [Microsoft.Net.Http.Headers.HeaderNames.Host] = outer.Request.Host.Value ?? "localhost",
            [Microsoft.Net.Http.Headers.HeaderNames.Accept] = "application/json",
        };
        if (caller.CredentialHeader is { } header)
        {
            headers[header] = caller.CredentialValue;
        }

        // The agent's address as the outer request had it: behind a trusted proxy that is the X-Forwarded-For the proxy
        // added, which the tool call's connection (the outer one's) is believed for. Without it, IP filters, allowed
        // addresses and anonymous limits would judge the proxy's address.
        if (outer.Request.Headers["X-Forwarded-For"] is { Count: > 0 } forwardedFor)
        {
            headers["X-Forwarded-For"] = forwardedFor;
        }

        var bodyBytes = body is { } json ? JsonSerializer.SerializeToUtf8Bytes(json) : [];
        if (body is not null)
        {
            headers[Microsoft.Net.Http.Headers.HeaderNames.ContentType] = "application/json";
            headers.ContentLength = bodyBytes.Length;
        }

        var responseBody = new MemoryStream();
        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(new HttpRequestFeature
        {
            Protocol = "HTTP/1.1",
            Scheme = outer.Request.Scheme,
            Method = tool.Operation.Method,
            PathBase = "",
            Path = PathString.FromUriComponent(encodedPath).Value ?? "/",
            QueryString = query < 0 ? "" : target[query..],
            RawTarget = target,
            Headers = headers,
            Body = new MemoryStream(bodyBytes, writable: false),
        });
        features.Set<IHttpResponseFeature>(new HttpResponseFeature());
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(responseBody));
        features.Set<IHttpRequestLifetimeFeature>(new HttpRequestLifetimeFeature { RequestAborted = ct });
        features.Set<IHttpConnectionFeature>(new HttpConnectionFeature
        {
            RemoteIpAddress = outer.Connection.RemoteIpAddress ?? IPAddress.Loopback,
            RemotePort = outer.Connection.RemotePort,
            LocalIpAddress = outer.Connection.LocalIpAddress,
            LocalPort = outer.Connection.LocalPort,
        });
        if (caller.ClientId is { } clientId)
        {
            features.Set(new InProcessCaller(clientId, caller.Scopes));
        }

        var inner = new DefaultHttpContext(features);
        await handler.HandlePinnedAsync(inner, tool.Pin).ConfigureAwait(false);
        var status = inner.Response.StatusCode;
        var length = (int)Math.Min(responseBody.Length, MaxResult);
        var text = Encoding.UTF8.GetString(responseBody.GetBuffer(), 0, length);
        var mediaType = inner.Response.ContentType ?? "";
        return new Outcome(status, text, mediaType.Contains("json", StringComparison.OrdinalIgnoreCase) && length == responseBody.Length);
    }

    private static string? Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };
}
