using System.Net;

namespace Gatehouse.Model.Operations;

/// <summary>Reads OpenAPI documents from files and fetches them from URLs, with a time and size limit.</summary>
public static class OpenApiSources
{
    /// <summary>How long fetching one document may take, connection included.</summary>
    public static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Largest document accepted. Big public APIs' documents are a few MB.</summary>
    public const int MaxDocumentSize = 32 * 1024 * 1024;

    // The gateway talks to its services directly, never through an HTTP proxy, so the document is fetched the same way.
    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = true,
        AutomaticDecompression = DecompressionMethods.All,
        PooledConnectionLifetime = TimeSpan.FromMinutes(1),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan, // the per-call token below bounds the whole exchange
        MaxResponseContentBufferSize = MaxDocumentSize,
    };

    /// <summary>True when <paramref name="source"/> is an absolute http or https URL.</summary>
    public static bool IsUrl(string source) =>
        Uri.TryCreate(source, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";

    /// <summary>Reads and parses the document in <paramref name="file"/>; the error names the file.</summary>
    public static ImportedDocument? ReadFile(string file, out string? error)
    {
        string text;
        try
        {
            var info = new FileInfo(file);
            if (info.Exists && info.Length > MaxDocumentSize)
            {
                error = $"OpenAPI document '{file}' is larger than {MaxDocumentSize / (1024 * 1024)}MB.";
                return null;
            }

            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read OpenAPI document '{file}': {e.Message}";
            return null;
        }

        return Parse(text, $"'{file}'", out error);
    }

    /// <summary>Fetches and parses the document at <paramref name="url"/>; the error names the URL.</summary>
    public static async Task<(ImportedDocument? Document, string? Error)> FetchAsync(string url, CancellationToken ct = default)
    {
        if (!IsUrl(url))
        {
            return (null, $"'{url}' is not an http or https URL; write e.g. 'http://127.0.0.1:5101/openapi.json'.");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(FetchTimeout);
        string text;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Accept.ParseAdd("application/json");
            request.Headers.Accept.ParseAdd("application/yaml;q=0.9");
            request.Headers.Accept.ParseAdd("*/*;q=0.1");
            using var response = await Http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"fetching the OpenAPI document {url} got {(int)response.StatusCode} {response.ReasonPhrase}; check the URL.");
            }

            text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null, $"cannot fetch the OpenAPI document {url}: no complete answer within {FetchTimeout.TotalSeconds:0}s; check that the service is up, or use 'openapi.file' with a copy of the document.");
        }
        catch (HttpRequestException e)
        {
            return (null, $"cannot fetch the OpenAPI document {url}: {e.Message}; start the service, or use 'openapi.file' with a copy of the document.");
        }

        return (Parse(text, url, out var error), error);
    }

    private static ImportedDocument? Parse(string text, string source, out string? error)
    {
        var document = OpenApiDocumentReader.Read(text, out var reason);
        error = document is null ? $"OpenAPI document {source} cannot be imported: {reason}" : null;
        return document;
    }
}
