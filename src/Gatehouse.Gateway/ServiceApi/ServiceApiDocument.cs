using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.ServiceApi;

/// <summary>The OpenAPI 3.1 description of the service API, a hand-written resource (<c>openapi.json</c> next to this file).</summary>
internal static class ServiceApiDocument
{
    private static readonly Lazy<byte[]> Bytes = new(() =>
    {
        using var stream = typeof(ServiceApiDocument).Assembly.GetManifestResourceStream("Gatehouse.Gateway.ServiceApi.openapi.json")
            ?? throw new InvalidOperationException("The service API's openapi.json resource is missing from the build.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    public static byte[] Json => Bytes.Value;

    public static async Task WriteAsync(HttpContext context)
    {
        var bytes = Json;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = bytes.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
