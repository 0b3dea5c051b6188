using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// The benchmark's upstream: answers every request with the same small body, as cheaply as Kestrel allows
// (no routing, no logging, a pre-encoded body and Content-Length), so what the benchmark sees is the proxy.
// Usage: Gatehouse.Bench.Backend PORT
if (args.Length != 1 || !int.TryParse(args[0], out var port))
{
    Console.Error.WriteLine("usage: Gatehouse.Bench.Backend PORT");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http1);
});

var app = builder.Build();
app.Run(Body.WriteAsync);
await app.StartAsync().ConfigureAwait(false);
Console.Out.WriteLine($"backend listening on http://127.0.0.1:{port}");
await app.WaitForShutdownAsync().ConfigureAwait(false);
return 0;

internal static class Body
{
    // 13 bytes, the classic plaintext benchmark body.
    private static readonly byte[] Hello = "Hello, World!"u8.ToArray();

    public static Task WriteAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/plain";
        response.ContentLength = Hello.Length;
        return response.BodyWriter.WriteAsync(Hello).AsTask();
    }
}
