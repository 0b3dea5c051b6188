using System.IO.Compression;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Gatehouse.Gateway.Policies.Compression;

/// <summary>
/// A route's <c>compress</c> policy: ASP.NET Core's response compression (Brotli, gzip), run around the rest of the
/// route's stages for one request. Its middleware negotiates <c>Accept-Encoding</c>, adds <c>Vary</c>, leaves an
/// answer the service already encoded (or of a type not listed) as it is, drops <c>Content-Length</c> when it compresses,
/// and compresses as the body is written, so a streamed answer's flushes still reach the client.
/// </summary>
internal sealed class CompressPolicy
{
    // The provider takes its logger (and, when given provider types, their options) from a service provider; the
    // gateway gives it instances, so a private one with logging is all it needs.
    private static readonly IServiceProvider Services = new ServiceCollection().AddLogging().BuildServiceProvider();

    private readonly ResponseCompressionProvider _provider;

    public CompressPolicy(CompressConfig config)
    {
        var level = config.Level switch
        {
            CompressLevel.Smallest => CompressionLevel.SmallestSize,
            CompressLevel.Optimal => CompressionLevel.Optimal,
            _ => CompressionLevel.Fastest,
        };
        var options = new ResponseCompressionOptions
        {
            // The route's owner turned this on for this route, over HTTPS too (the BREACH caution is in its docs).
            EnableForHttps = true,
            MimeTypes = config.Types is { Count: > 0 } types ? types : ResponseCompressionDefaults.MimeTypes,
        };
        options.Providers.Add(new BrotliCompressionProvider(Options.Create(new BrotliCompressionProviderOptions { Level = level })));
        options.Providers.Add(new GzipCompressionProvider(Options.Create(new GzipCompressionProviderOptions { Level = level })));
        _provider = new ResponseCompressionProvider(Services, Options.Create(options));
    }

    /// <summary>Runs <paramref name="next"/> (the route's remaining stages) with its response compressed when it may be.</summary>
    public Task InvokeAsync(HttpContext context, RequestDelegate next) => new ResponseCompressionMiddleware(next, _provider).Invoke(context);
}
