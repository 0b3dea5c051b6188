using Gatehouse.Management.Admin;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Portal;

/// <summary>
/// "Try it" without CORS: the interactive docs send each request to <c>/try?scalar_url=URL</c> (Scalar's proxy
/// protocol), and the portal sends it on to the gateway and returns the answer. Only URLs under the gateway's public
/// URL are forwarded, judged as the request will be sent (dot segments resolved), so this is no open proxy; only for a
/// signed-in consumer (<see cref="PortalEndpoints"/>) and from the portal's own pages; cookies never travel, and bodies
/// are limited to 1 MiB both ways.
/// </summary>
internal static class TryItProxy
{
    private const int MaxBody = 1024 * 1024;

    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false })
    {
        Timeout = TimeSpan.FromSeconds(30),
        MaxResponseContentBufferSize = MaxBody,
    };

    private static readonly HashSet<string> Dropped = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Cookie", "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "TE", "Trailer", "Proxy-Connection", "Origin", "Referer",
        "Content-Length", "Content-Type", "Accept-Encoding",
        // Who the caller is, the portal says itself (below): a gateway that trusts the portal as a proxy would otherwise
        // believe an address the caller chose, past IP filters and an application's allowed addresses.
        "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Prefix", "Forwarded", "X-Real-IP",
    };

    /// <summary>
    /// Sends the request on when it may go; <paramref name="admitted"/> counts it against its sender's limit once it is
    /// one that would reach the gateway (a refused URL or page costs nothing), and answers the refusal itself.
    /// </summary>
    public static async Task ForwardAsync(HttpContext context, string gatewayUrl, Func<Task<bool>> admitted)
    {
        // Browsers say where a request comes from: only the docs page's own fetches, never another site's page or a
        // link followed (a client that sends no Sec-Fetch-Site, a script, has its session cookie to show instead).
        if (context.Request.Headers["Sec-Fetch-Site"].ToString() is { Length: > 0 } site && site != "same-origin")
        {
            await new AdminProblem(StatusCodes.Status403Forbidden, "try-cross-site", "Not from the portal",
                "Try it sends requests only from the portal's own docs pages.").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        if (Target(context.Request.Query["scalar_url"].ToString(), gatewayUrl) is not { } uri)
        {
            await new AdminProblem(StatusCodes.Status400BadRequest, "try-target", "Not the gateway",
                $"Try it only sends requests to the gateway ({gatewayUrl}).").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        if (context.Request.ContentLength > MaxBody)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            return;
        }

        if (!await admitted().ConfigureAwait(false))
        {
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), uri);
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            if (buffer.Length > MaxBody)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                return;
            }

            request.Content = new ByteArrayContent(buffer.ToArray());
            if (context.Request.ContentType is { } type)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            }
        }

        foreach (var (name, values) in context.Request.Headers)
        {
            if (!Dropped.Contains(name) && !name.StartsWith("Sec-", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        // The caller's address as the portal judged it (TrustedForwardedHeaders); the gateway believes it only when it
        // trusts the portal's address (gateway.trustedProxies), and otherwise sees the portal's.
        if (context.Connection.RemoteIpAddress is { } caller)
        {
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", (caller.IsIPv4MappedToIPv6 ? caller.MapToIPv4() : caller).ToString());
        }

        HttpResponseMessage response;
        try
        {
            response = await Http.SendAsync(request, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            return;
        }

        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (!Dropped.Contains(name) && !name.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase))
                {
                    context.Response.Headers[name] = values.ToArray();
                }
            }

            if (response.Content.Headers.ContentType is { } contentType)
            {
                context.Response.ContentType = contentType.ToString();
            }

            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The URL to send, or null when it is not under the gateway's public URL: the same scheme, host and port, no user
    /// info, and a path under the gateway's own path as the request will carry it. The check is on the parsed URL, not
    /// the text, because parsing resolves <c>..</c>, <c>%2e%2e</c> and <c>\</c>: <c>https://gw/api/../admin</c>
    /// begins with <c>https://gw/api/</c> and is sent as <c>/admin</c>.
    /// </summary>
    internal static Uri? Target(string target, string gatewayUrl)
    {
        if (!Uri.TryCreate(gatewayUrl, UriKind.Absolute, out var gateway) || !Uri.TryCreate(target, UriKind.Absolute, out var uri))
        {
            return null;
        }

        var root = gateway.AbsolutePath.TrimEnd('/') + "/";
        return uri.Scheme == gateway.Scheme && uri.IdnHost == gateway.IdnHost && uri.Port == gateway.Port && uri.UserInfo.Length == 0
            && (uri.AbsolutePath + "/").StartsWith(root, StringComparison.Ordinal)
            ? uri
            : null;
    }
}
