using System.Buffers;
using System.Text.Json;
using Gatehouse.Gateway.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Mcp;

/// <summary>
/// The MCP endpoint's OAuth protected-resource metadata (RFC 9728), served while <c>gateway.mcpAuthorization</c> is set:
/// at <c>/.well-known/oauth-protected-resource</c> and at the path-inserted form for the resource's path
/// (<c>/.well-known/oauth-protected-resource/mcp</c>), which MCP clients try first.
/// </summary>
internal static class McpResourceMetadata
{
    public const string WellKnown = "/.well-known/oauth-protected-resource";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The metadata's URL for <paramref name="resource"/>: the well-known path inserted before the resource's path.</summary>
    public static string UrlOf(string resource)
    {
        var uri = new Uri(resource);
        return $"{uri.Scheme}://{uri.Authority}{WellKnown}{uri.AbsolutePath.TrimEnd('/')}";
    }

    public static void Map(WebApplication app, GatewayRuntime runtime)
    {
        app.MapWhen(
            context => context.Request.Path.StartsWithSegments(WellKnown) && runtime.Current.Config.Gateway is { Mcp: true, McpAuthorization: not null },
            branch => branch.Run(context => WriteAsync(context, runtime)));
    }

    private static Task WriteAsync(HttpContext context, GatewayRuntime runtime)
    {
        var gateway = runtime.Current.Config.Gateway;
        var authorization = gateway.McpAuthorization!;
        var rest = context.Request.Path.Value![WellKnown.Length..].TrimEnd('/');
        var resourcePath = new Uri(authorization.Resource).AbsolutePath.TrimEnd('/');
        if (rest.Length > 0 && !string.Equals(rest, resourcePath, StringComparison.Ordinal))
        {
            return Problems.ProblemWriter.WriteAsync(context, StatusCodes.Status404NotFound, "no-route", "No route",
                $"The protected-resource metadata of this gateway's MCP endpoint is at GET {UrlOf(authorization.Resource)}.", Hosting.RequestIds.New());
        }

        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            return Problems.ProblemWriter.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, "method-not-allowed", "Method not allowed",
                "The protected-resource metadata is read with GET.", Hosting.RequestIds.New(), [new("Allow", "GET, HEAD")]);
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("resource", authorization.Resource);
            json.WriteStartArray("authorization_servers");
            foreach (var server in authorization.ServersOf(gateway.Jwt))
            {
                json.WriteStringValue(server);
            }

            json.WriteEndArray();
            json.WriteStartArray("bearer_methods_supported");
            json.WriteStringValue("header");
            json.WriteEndArray();
            json.WriteString("resource_name", "Gatehouse MCP");
            json.WriteEndObject();
        }

        var response = context.Response;
        response.ContentType = "application/json";
        response.ContentLength = buffer.WrittenCount;
        response.Headers.CacheControl = "max-age=300";
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(buffer.WrittenMemory).AsTask();
    }
}
