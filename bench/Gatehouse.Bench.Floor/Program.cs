using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

// Issue 25's floor: the least a .NET reverse proxy can do per request on the same stack as Gatehouse (Kestrel, then
// SocketsHttpHandler), and no more: no routing, no config, no access steps, no checks of what it forwards, no
// telemetry. It forwards what nginx's bench config forwards (the method, path and query, the request's end-to-end
// headers and body, X-Forwarded-For/-Proto/-Host and a request id up; the status, the headers and the body down, with
// the request id) and answers 502 when the backend cannot be reached. Not a product: it drops nothing a client should
// not send upstream and checks nothing. bench/run.sh (FLOOR=1) starts it with the gatehouse command's environment
// (inline socket completions, the same gen0 budget), pinned like the other proxies.
// With TLS_PORT CERT_PEM KEY_PEM it also listens with TLS there (HTTP/1.1 and HTTP/2 by ALPN), as a gatehouse listener
// with a certificate does.
// Usage: Gatehouse.Bench.Floor PORT BACKEND_URL [TLS_PORT CERT_PEM KEY_PEM]
var tlsPort = 0;
if (args.Length is not (2 or 5) || !int.TryParse(args[0], out var port) || !Uri.TryCreate(args[1], UriKind.Absolute, out var backend)
    || (args.Length == 5 && !int.TryParse(args[2], out tlsPort)))
{
    Console.Error.WriteLine("usage: Gatehouse.Bench.Floor PORT BACKEND_URL [TLS_PORT CERT_PEM KEY_PEM]");
    return 2;
}

// As the gatehouse command does (src/Gatehouse/Program.cs): socket completions inline on the epoll threads, unless
// GATEHOUSE_INLINE_IO=0 or an explicit DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS says otherwise.
if (OperatingSystem.IsLinux()
    && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null
    && Environment.GetEnvironmentVariable("GATEHOUSE_INLINE_IO") != "0")
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
builder.Logging.ClearProviders();
if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1")
{
    // As GatewayHost does under the same switch: Kestrel's transport completes on the epoll threads too.
    builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = true);
}

builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.AllowResponseHeaderCompression = false; // as GatewayHost
    kestrel.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http1);
    if (tlsPort != 0)
    {
        kestrel.Listen(IPAddress.Loopback, tlsPort, o =>
        {
            o.Protocols = HttpProtocols.Http1AndHttp2;
            o.UseHttps(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(args[3], args[4]));
        });
    }
});

var app = builder.Build();
var forwarder = new PassThrough(backend.GetLeftPart(UriPartial.Authority),
    long.TryParse(Environment.GetEnvironmentVariable("FLOOR_EXTRA_NS"), out var extra) ? extra : 0);
app.Run(forwarder.ForwardAsync);
await app.StartAsync().ConfigureAwait(false);
Console.Out.WriteLine($"floor listening on http://127.0.0.1:{port}, forwarding to {backend}");
await app.WaitForShutdownAsync().ConfigureAwait(false);
return 0;

// extraNanoseconds > 0 (FLOOR_EXTRA_NS): a busy wait of that long per request, user-mode work and nothing else, to
// measure how the bench's figures answer to a proxy's own work (docs/benchmarks.md, issue 25's floor).
internal sealed class PassThrough(string origin, long extraNanoseconds)
{
    private readonly long _extraTicks = extraNanoseconds * System.Diagnostics.Stopwatch.Frequency / 1_000_000_000;

    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler
    {
        // Gatehouse's upstream handler settings (UpstreamHandlerFactory).
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ActivityHeadersPropagator = null,
    });

    // The lean forms throughout (a cached HttpMethod, single values added as strings, the response's headers read
    // without parsing), since a floor written carelessly would only measure its own waste.
    public async Task ForwardAsync(HttpContext context)
    {
        if (_extraTicks > 0)
        {
            var until = System.Diagnostics.Stopwatch.GetTimestamp() + _extraTicks;
            while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
            {
            }
        }

        var request = context.Request;
        using var message = new HttpRequestMessage(HttpMethod.Parse(request.Method), origin + request.Path.ToUriComponent() + request.QueryString.ToUriComponent());
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            message.Content = new StreamContent(request.Body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (IsHopByHop(name) || string.Equals(name, HeaderNames.Host, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var added = values.Count == 1
                ? message.Headers.TryAddWithoutValidation(name, values[0])
                : message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            if (!added && message.Content is { } content)
            {
                content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        var id = context.TraceIdentifier;
        message.Headers.TryAddWithoutValidation("X-Forwarded-For", context.Connection.RemoteIpAddress?.ToString());
        message.Headers.TryAddWithoutValidation("X-Forwarded-Proto", request.Scheme);
        message.Headers.TryAddWithoutValidation("X-Forwarded-Host", request.Host.Value);
        message.Headers.TryAddWithoutValidation("X-Request-Id", id);

        HttpResponseMessage answer;
        try
        {
            answer = await _invoker.SendAsync(message, context.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            return;
        }

        using (answer)
        {
            var response = context.Response;
            response.StatusCode = (int)answer.StatusCode;
            foreach (var (name, values) in answer.Headers.NonValidated)
            {
                if (!IsHopByHop(name))
                {
                    response.Headers[name] = values.Count == 1 ? values.ToString() : values.ToArray();
                }
            }

            foreach (var (name, values) in answer.Content.Headers.NonValidated)
            {
                response.Headers[name] = values.Count == 1 ? values.ToString() : values.ToArray();
            }

            response.Headers["X-Request-Id"] = id;
            await answer.Content.CopyToAsync(response.Body, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static bool IsHopByHop(string name) =>
        name.Equals(HeaderNames.Connection, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.TransferEncoding, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.KeepAlive, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.TE, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Upgrade, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ProxyConnection, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Trailer, StringComparison.OrdinalIgnoreCase);
}
