using System.IO.Compression;
using System.Net;
using System.Text;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// The <c>compress</c> policy: answers of the listed types are compressed as the client's <c>Accept-Encoding</c> asks,
/// anything the service encoded itself passes as it is, streamed answers stay streamed, and the cache keeps what the
/// service sent, so every client gets the encoding it asked for.
/// </summary>
[Trait("Issue", "23")]
public sealed class CompressPolicyTests
{
    private static readonly string Json = "{\"items\":[" + string.Join(',', Enumerable.Range(0, 200).Select(i => $"{{\"id\":{i},\"name\":\"item number {i}\"}}")) + "]}";

    private static string Yaml(string backend, string compress, string routeExtra = "") => $$"""
        version: 1
        services:
          api: { targets: [{{backend}}], policies: { compress: {{compress}} } }
        routes:
          all: { path: "/{**rest}", service: api }
          plain: { path: "/plain/{**rest}", service: api, policies: { compress: { enabled: false } } }
          cached: { methods: [GET], path: "/cached/{**rest}", service: api, policies: { cache: { ttl: 60s, shared: true } } }
        {{routeExtra}}
        """;

    private static Task<RecordingBackend> BackendAsync(Func<HttpContext, Task>? answer = null) =>
        RecordingBackend.StartAsync(answer is null
            ? async (context, _) =>
            {
                context.Response.ContentType = context.Request.Path.StartsWithSegments("/png") ? "image/png"
                    : context.Request.Path.StartsWithSegments("/vnd") ? "application/vnd.api+json" : "application/json; charset=utf-8";
                await context.Response.WriteAsync(Json);
            }
            : (context, _) => answer(context));

    private static async Task<(HttpResponseMessage Response, byte[] Body)> GetAsync(TestGateway gateway, string path, string? acceptEncoding)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        var response = await gateway.Client.SendAsync(request);
        return (response, await response.Content.ReadAsByteArrayAsync());
    }

    private static string Decode(HttpResponseMessage response, byte[] body)
    {
        using Stream decoded = response.Content.Headers.ContentEncoding.SingleOrDefault() switch
        {
            "br" => new BrotliStream(new MemoryStream(body), CompressionMode.Decompress),
            "gzip" => new GZipStream(new MemoryStream(body), CompressionMode.Decompress),
            null => new MemoryStream(body),
            var other => throw new InvalidOperationException($"unexpected Content-Encoding {other}"),
        };
        using var reader = new StreamReader(decoded, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    [Theory]
    [InlineData("br", "br")]
    [InlineData("gzip", "gzip")]
    [InlineData("gzip, deflate, br", "br")]
    [InlineData("br;q=0.5, gzip;q=1", "gzip")]
    public async Task AListedType_IsCompressedAsTheClientAsks_AndDecodesToWhatTheServiceSent(string accept, string expected)
    {
        await using var backend = await BackendAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{}"));

        var (response, body) = await GetAsync(gateway, "/items", accept);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, Assert.Single(response.Content.Headers.ContentEncoding));
        Assert.Contains("Accept-Encoding", response.Headers.Vary);
        Assert.True(body.Length < Json.Length / 3, $"{body.Length} bytes for {Json.Length}");
        Assert.Equal(Json, Decode(response, body));
    }

    [Fact]
    public async Task NoAcceptEncoding_AnUnlistedType_OrARouteWithThePolicyOff_IsSentAsItIs()
    {
        await using var backend = await BackendAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{}"));

        var (identity, identityBody) = await GetAsync(gateway, "/items", null);
        var (png, pngBody) = await GetAsync(gateway, "/png/x", "br, gzip");
        var (off, offBody) = await GetAsync(gateway, "/plain/items", "br, gzip");

        foreach (var (response, body) in new[] { (identity, identityBody), (png, pngBody), (off, offBody) })
        {
            Assert.Empty(response.Content.Headers.ContentEncoding);
            Assert.Equal(Json, Encoding.UTF8.GetString(body));
        }
    }

    [Fact]
    public async Task ConfiguredTypes_ReplaceTheDefaults_WithWildcards_AndTheLevelIsTaken()
    {
        await using var backend = await BackendAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ types: [application/vnd.api+json, image/*], level: smallest }"));

        var (vnd, vndBody) = await GetAsync(gateway, "/vnd/x", "gzip");
        var (png, _) = await GetAsync(gateway, "/png/x", "gzip");
        var (json, _) = await GetAsync(gateway, "/items", "gzip");

        Assert.Equal("gzip", Assert.Single(vnd.Content.Headers.ContentEncoding));
        Assert.Equal(Json, Decode(vnd, vndBody));
        Assert.Equal("gzip", Assert.Single(png.Content.Headers.ContentEncoding));
        Assert.Empty(json.Content.Headers.ContentEncoding);

        // The level: the same answer in Brotli is smaller at 'smallest' than at 'fastest'.
        await using var fastest = await TestGateway.StartAsync(Yaml(backend.Url, "{ types: [application/vnd.api+json], level: fastest }"));
        var (small, smallBody) = await GetAsync(gateway, "/vnd/x", "br");
        var (fast, fastBody) = await GetAsync(fastest, "/vnd/x", "br");
        Assert.Equal(Json, Decode(small, smallBody));
        Assert.Equal(Json, Decode(fast, fastBody));
        Assert.True(smallBody.Length < fastBody.Length, $"smallest {smallBody.Length} bytes, fastest {fastBody.Length}");
    }

    [Fact]
    public async Task AnAnswerTheServiceEncoded_PassesAsItIs()
    {
        var encoded = new MemoryStream();
        await using (var gzip = new GZipStream(encoded, CompressionLevel.Optimal, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes(Json));
        }

        var bytes = encoded.ToArray();
        await using var backend = await BackendAsync(async context =>
        {
            context.Response.ContentType = "application/json";
            context.Response.Headers.ContentEncoding = "gzip";
            await context.Response.Body.WriteAsync(bytes);
        });
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{}"));

        var (response, body) = await GetAsync(gateway, "/items", "br");

        Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));
        Assert.Equal(bytes, body);
    }

    [Fact]
    public async Task AStreamedAnswer_ReachesTheClientAsItIsFlushed()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await BackendAsync(async context =>
        {
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync("first line\n");
            await context.Response.Body.FlushAsync();
            await release.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await context.Response.WriteAsync("second line\n");
        });
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{}"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/stream");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");

        using var response = await gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));
        using var reader = new StreamReader(new GZipStream(await response.Content.ReadAsStreamAsync(), CompressionMode.Decompress));

        // Read before the service writes the rest: the first line was flushed through the compressor.
        Assert.Equal("first line", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)));
        release.SetResult();
        Assert.Equal("second line", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task ACachedAnswer_IsKeptAsTheServiceSentIt_AndEachClientGetsTheEncodingItAskedFor()
    {
        await using var backend = await BackendAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{}"));

        var (miss, missBody) = await GetAsync(gateway, "/cached/items", "br");
        var (hitGzip, hitGzipBody) = await GetAsync(gateway, "/cached/items", "gzip");
        var (hitIdentity, hitIdentityBody) = await GetAsync(gateway, "/cached/items", null);

        Assert.Equal(["miss", "hit", "hit"], new[] { miss, hitGzip, hitIdentity }.Select(r => r.Headers.GetValues("Gatehouse-Cache").Single()));
        Assert.Equal(1, backend.Count);
        Assert.Equal("br", Assert.Single(miss.Content.Headers.ContentEncoding));
        Assert.Equal("gzip", Assert.Single(hitGzip.Content.Headers.ContentEncoding));
        Assert.Empty(hitIdentity.Content.Headers.ContentEncoding);
        Assert.All(new[] { Decode(miss, missBody), Decode(hitGzip, hitGzipBody), Decode(hitIdentity, hitIdentityBody) }, b => Assert.Equal(Json, b));
    }
}
