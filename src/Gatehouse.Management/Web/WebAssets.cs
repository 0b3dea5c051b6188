using System.IO.Compression;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Web;

/// <summary>
/// The pages' CSS and JavaScript (embedded in this assembly) and Scalar's API reference bundle (embedded in the
/// Scalar.AspNetCore package, gzip-compressed there), served from memory under <c>{prefix}/</c>: nothing is built with
/// Node and nothing is fetched from a CDN.
/// </summary>
internal static class WebAssets
{
    private static readonly Lazy<byte[]> ScalarGzip = new(() =>
    {
        using var stream = typeof(Scalar.AspNetCore.ScalarOptions).Assembly.GetManifestResourceStream("ScalarStaticAssets.scalar.js")
            ?? throw new InvalidOperationException("Scalar.AspNetCore no longer embeds ScalarStaticAssets.scalar.js; update WebAssets for its new layout.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    private static readonly Lazy<byte[]> ScalarPlain = new(() =>
    {
        using var gzip = new GZipStream(new MemoryStream(ScalarGzip.Value), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        return plain.ToArray();
    });

    public static void Map(IEndpointRouteBuilder app, string prefix, params string[] files)
    {
        foreach (var file in files)
        {
            var bytes = Read(file);
            var type = file.EndsWith(".css", StringComparison.Ordinal) ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
            app.MapGet($"{prefix}/{file}", context => WriteAsync(context, bytes, type, gzip: false));
        }

        app.MapGet($"{prefix}/scalar.js", context =>
        {
            var gzip = context.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase);
            return WriteAsync(context, gzip ? ScalarGzip.Value : ScalarPlain.Value, "text/javascript; charset=utf-8", gzip);
        });
    }

    private static byte[] Read(string file)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Gatehouse.Management.Web.Assets." + file)
            ?? throw new InvalidOperationException($"Asset {file} is not embedded.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static Task WriteAsync(HttpContext context, byte[] bytes, string type, bool gzip)
    {
        context.Response.ContentType = type;
        context.Response.Headers.CacheControl = "public, max-age=3600";
        context.Response.Headers.Vary = "Accept-Encoding";
        if (gzip)
        {
            context.Response.Headers.ContentEncoding = "gzip";
        }

        context.Response.ContentLength = bytes.Length;
        return context.Response.Body.WriteAsync(bytes, context.RequestAborted).AsTask();
    }
}
