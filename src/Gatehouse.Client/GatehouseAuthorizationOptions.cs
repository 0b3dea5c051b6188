using Microsoft.AspNetCore.Http;

namespace Gatehouse.Client;

/// <summary>How <see cref="GatehouseApplicationBuilderExtensions.UseGatehouseAuthorization"/> reaches the gateway and what it asks.</summary>
public sealed class GatehouseAuthorizationOptions
{
    /// <summary>The gateway's service API, e.g. <c>http://127.0.0.1:8082</c> (<c>gateway.serviceApi.url</c>). Required.</summary>
    public Uri? ServiceApiUrl { get; set; }

    /// <summary>A service token whose SHA-256 is in <c>gateway.serviceApi.tokenSha256</c>. Required.</summary>
    public string? ServiceToken { get; set; }

    /// <summary>
    /// The operation id of a request (<c>users.getUser</c>); a null result lets the request through unchecked (health
    /// probes, static files). Required.
    /// </summary>
    public Func<HttpContext, string?>? OperationResolver { get; set; }

    /// <summary>
    /// How long an allowed decision is reused for the same credential and operation without asking the gateway; the
    /// calls it covers are counted in batched reports. Default zero: every request asks (exact limits, one round-trip
    /// each). See docs/service-api.md for the trade-off.
    /// </summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.Zero;

    /// <summary>How often calls served from the cache are reported. Default 1 second.</summary>
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long to wait for the gateway before treating it as unreachable. Default 2 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// When the gateway cannot be asked: false answers 503 (fail closed), true lets the request through unchecked and
    /// uncounted. Default false.
    /// </summary>
    public bool FailOpen { get; set; }

    /// <summary>
    /// Reports what the service answered each allowed request and how long it took, so the gateway's usage analytics has
    /// the real status and latency (batched with the cache's reports, every <see cref="ReportInterval"/>); limits are still
    /// counted at the authrep. Default true; a gateway too old to take it is detected at the first authrep, and the
    /// middleware then goes on without it.
    /// </summary>
    public bool ReportOutcomes { get; set; } = true;

    /// <summary>The header clients send their API key in; the gateway's <c>gateway.apiKeys.header</c>. Default <c>X-Api-Key</c>.</summary>
    public string ApiKeyHeader { get; set; } = "X-Api-Key";

    /// <summary>The handler of the HTTP client that calls the gateway (proxies, TLS, tests). Default: a new <see cref="SocketsHttpHandler"/>.</summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    /// <summary>The clock of the cache. Default: the system clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
