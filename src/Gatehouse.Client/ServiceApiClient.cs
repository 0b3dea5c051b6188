using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Gatehouse.Client;

/// <summary>Calls <c>/api/authrep</c> and <c>/api/report</c> of one gateway.</summary>
internal sealed class ServiceApiClient(GatehouseAuthorizationOptions options) : IDisposable
{
    private readonly HttpClient _http = Create(options);

    private static HttpClient Create(GatehouseAuthorizationOptions options)
    {
        var http = new HttpClient(options.HttpHandler ?? new SocketsHttpHandler { UseProxy = false }, disposeHandler: true)
        {
            BaseAddress = options.ServiceApiUrl,
            Timeout = options.Timeout,
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ServiceToken);
        return http;
    }

    /// <summary>The decision and the gateway's <c>RateLimit-Policy</c>/<c>RateLimit</c> values; throws when the gateway cannot answer.</summary>
    public async Task<(Decision Decision, string? Policy, string? RateLimit)> AuthrepAsync(AuthrepBody body, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync("/api/authrep", body, ClientJson.Default.AuthrepBody, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            // A 4xx here is a deployment mistake (wrong token, unknown operation), never the caller's fault.
            throw new HttpRequestException($"The gateway answered {(int)response.StatusCode} to /api/authrep: {await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)}", null, response.StatusCode);
        }

        var decision = await response.Content.ReadFromJsonAsync(ClientJson.Default.Decision, cancellationToken).ConfigureAwait(false)
            ?? throw new HttpRequestException("The gateway answered /api/authrep with an empty body.");
        return (decision, Header(response, "RateLimit-Policy"), Header(response, "RateLimit"));
    }

    public async Task ReportAsync(ReportBody body, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync("/api/report", body, ClientJson.Default.ReportBody, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : null;

    public void Dispose() => _http.Dispose();
}
