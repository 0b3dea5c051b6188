using System.Text.Json.Nodes;
using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;

namespace Gatehouse.Model.Plans;

/// <summary>
/// Reads a service's OpenAPI document, as the loader read it (its <c>openapi.file</c> or <c>openapi.url</c>), converted to
/// 3.1: the source of <see cref="PlanOpenApi"/> for the portal's plan documents and the gateway's MCP tool lists alike.
/// </summary>
public static class PlanSources
{
    /// <summary>The document, or null when the service has none or it cannot be read now (it is then described from the config alone).</summary>
    public static async Task<JsonObject?> ReadAsync(OpenApiConfig? source, CancellationToken cancellationToken)
    {
        string? text = null;
        if (source?.File is { } file && File.Exists(file))
        {
            text = await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false);
        }
        else if (source?.Url is { } url && OpenApiSources.IsUrl(url))
        {
            try
            {
                using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = OpenApiSources.FetchTimeout };
                text = await http.GetStringAsync(url, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Described from the config alone; the next config load tries again.
                return null;
            }
        }

        return text is null ? null : OpenApiV31.Convert(text, out _);
    }
}
