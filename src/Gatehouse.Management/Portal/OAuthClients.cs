using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Stores;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Gatehouse.Management.Portal;

/// <summary>
/// Where the portal registers consumers' OAuth clients (<c>--portal-oauth-issuer</c>; docs/portal.md, "OAuth clients of
/// portal applications"): a provider with OpenID Connect discovery and Dynamic Client Registration (RFC 7591).
/// </summary>
public sealed record OAuthRegistrationOptions
{
    /// <summary>The variable the initial access token comes from, when the provider asks for one.</summary>
    public const string TokenVariable = "GATEHOUSE_PORTAL_OAUTH_REGISTRATION_TOKEN";

    /// <summary>The provider's issuer, as its discovery document names it.</summary>
    public required string Issuer { get; init; }

    /// <summary>The initial access token registrations are made with (RFC 7591, section 3); null: none (open registration).</summary>
    public string? InitialAccessToken { get; init; }

    /// <summary>Checks the options; the one-line reason when they cannot work.</summary>
    public static OAuthRegistrationOptions Checked(OAuthRegistrationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Uri.TryCreate(options.Issuer, UriKind.Absolute, out var issuer) || issuer.Scheme is not ("https" or "http")
            || issuer.Query.Length > 0 || issuer.Fragment.Length > 0 || issuer.UserInfo.Length > 0)
        {
            throw new ArgumentException($"--portal-oauth-issuer '{options.Issuer}' is not an issuer URL; give the provider's issuer as its discovery document names it, like https://login.example.com/realms/apis.");
        }

        if (issuer.Scheme == "http" && !IsLoopback(issuer))
        {
            throw new ArgumentException($"--portal-oauth-issuer '{options.Issuer}' is plain http to another machine: client secrets would cross the network unprotected; give its https:// address.");
        }

        return options with { Issuer = options.Issuer.TrimEnd('/'), InitialAccessToken = string.IsNullOrEmpty(options.InitialAccessToken) ? null : options.InitialAccessToken };
    }

    internal static bool IsLoopback(Uri uri) => uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}

/// <summary>A client the provider registered for an application: its secret is shown once and kept nowhere here.</summary>
public sealed record RegisteredClient(string ClientId, string? ClientSecret, DateTimeOffset? SecretExpiresAt, string? TokenEndpoint, PortalApplication Application);

/// <summary>
/// Registers consumers' OAuth clients at the provider (RFC 7591) and binds their client ids to the application, so that
/// the client's tokens mean it at the gateway; deletes a client at the provider (RFC 7592) once no application holds it.
/// </summary>
/// <remarks>
/// Written here because no served package is an RFC 7591 client: the registration is one JSON POST, its management one
/// DELETE. Discovery is Microsoft.IdentityModel's. A client is kept in the store (with its registration access token,
/// protected with the portal's data-protection keys) <em>before</em> its client id is bound, so that one whose binding
/// fails or never happens (a crash) is found and deleted by <see cref="SweepAsync"/>, as is one whose application lets
/// the client id go by any road (the consumer, an administrator, deleting the application).
/// </remarks>
internal sealed partial class OAuthClients : IDisposable
{
    /// <summary>How old an unbound registration must be before the sweep deletes it (one younger may still be binding).</summary>
    internal static readonly TimeSpan BindingGrace = TimeSpan.FromMinutes(5);

    private readonly OAuthRegistrationOptions _options;
    private readonly HttpClient _http;
    private readonly ConfigurationManager<OpenIdConnectConfiguration> _discovery;
    private readonly IDataProtector _protector;
    private readonly ConsumerService _consumers;
    private readonly ILogger _logger;

    public OAuthClients(OAuthRegistrationOptions options, IDataProtectionProvider protection, ConsumerService consumers, ILogger logger, HttpMessageHandler? handler = null)
    {
        _options = options;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(10), MaxResponseContentBufferSize = 1024 * 1024 };
        _discovery = new ConfigurationManager<OpenIdConnectConfiguration>(options.Issuer + "/.well-known/openid-configuration", new OpenIdConnectConfigurationRetriever(),
            new HttpDocumentRetriever(_http) { RequireHttps = options.Issuer.StartsWith("https://", StringComparison.Ordinal) });
        _protector = protection.CreateProtector("Gatehouse.Portal.OAuthClients");
        _consumers = consumers;
        _logger = logger;
    }

    public string Issuer => _options.Issuer;

    /// <summary>The provider's token endpoint, from its discovery document; null when it cannot be read now.</summary>
    public async Task<string?> TokenEndpointAsync(CancellationToken cancellationToken) => (await DiscoverAsync(cancellationToken).ConfigureAwait(false))?.TokenEndpoint;

    /// <summary>
    /// Registers a client for application <paramref name="id"/> of <paramref name="accountId"/> and binds its client id to
    /// it. The secret is in the answer only.
    /// </summary>
    public async Task<(RegisteredClient? Client, AdminProblem? Problem)> RegisterAsync(string accountId, string id, string actor, CancellationToken cancellationToken)
    {
        if (await _consumers.FindAsync(accountId, id, cancellationToken).ConfigureAwait(false) is not { } application)
        {
            return (null, AdminProblem.NotFound($"Application '{id}'"));
        }

        if (ConsumerService.CanAddClientId(application) is { } full)
        {
            return (null, full);
        }

        var metadata = await DiscoverAsync(cancellationToken).ConfigureAwait(false);
        if (metadata is null || !Uri.TryCreate(metadata.RegistrationEndpoint, UriKind.Absolute, out var endpoint) || !Reachable(endpoint))
        {
            return (null, Unavailable(metadata is null
                ? "The OAuth provider's discovery document cannot be read now; try again in a minute."
                : "The OAuth provider's discovery document names no usable registration_endpoint (https, or http on loopback); ask the portal's operators."));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            // A confidential client of the client credentials grant: a service calling APIs as itself, the case an
            // application's key is for. Anything else (a browser or mobile client) is registered at the provider by hand.
            Content = JsonContent(new JsonObject
            {
                ["client_name"] = application.Title,
                ["grant_types"] = new JsonArray("client_credentials"),
                ["response_types"] = new JsonArray(),
                ["redirect_uris"] = new JsonArray(),
                ["token_endpoint_auth_method"] = "client_secret_basic",
            }),
        };
        if (_options.InitialAccessToken is { } initial)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", initial);
        }

        JsonObject answer;
        try
        {
            // Buffered whole by the client, which refuses an answer past its MaxResponseContentBufferSize (1 MB).
            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var said = Said(body);
                LogRefused(_logger, (int)response.StatusCode, said);
                return (null, new AdminProblem(StatusCodes.Status502BadGateway, "oauth-registration-refused", "The OAuth provider refused the registration",
                    $"The OAuth provider refused to register a client ({(int)response.StatusCode}{(said.Length > 0 ? ": " + said : "")}); nothing was changed. Ask the portal's operators."));
            }

            answer = body is not null && JsonNode.Parse(body) is JsonObject o ? o : throw new JsonException("not an object");
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or IOException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogUnreachable(_logger, "register a client", e.Message);
            return (null, Unavailable("The OAuth provider did not answer the registration; nothing was changed. Try again in a minute."));
        }

        if (Text(answer, "client_id") is not { } clientId)
        {
            LogBadAnswer(_logger, "no client_id");
            return (null, Unavailable("The OAuth provider's answer had no client id; nothing was changed."));
        }

        // The management endpoint is where the portal later sends the registration access token: only to the provider's
        // own origin, never wherever an answer points.
        var management = Text(answer, "registration_client_uri") is { } uri && Uri.TryCreate(uri, UriKind.Absolute, out var parsed)
            && parsed.Scheme == endpoint.Scheme && parsed.Authority == endpoint.Authority ? parsed.AbsoluteUri : null;
        var token = management is null ? null : Text(answer, "registration_access_token");
        var registration = new OAuthClientRegistration(clientId, application.Id, _options.Issuer, token is null ? null : management, token is null ? null : _protector.Protect(token),
            _consumers.Time.GetUtcNow());
        try
        {
            await _consumers.Store.AddOAuthClientAsync(registration, CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            // Not kept, so nothing would ever delete it: delete it now (the registration in hand still names how).
            await DeleteAsync(registration, CancellationToken.None, forget: false).ConfigureAwait(false);
            throw;
        }

        var (bound, problem) = await _consumers.AddClientIdAsync(accountId, application.Id, clientId, actor, CancellationToken.None).ConfigureAwait(false);
        if (problem is not null)
        {
            await DeleteAsync(registration, CancellationToken.None).ConfigureAwait(false);
            return (null, problem);
        }

        var expires = answer["client_secret_expires_at"] is JsonValue v && v.TryGetValue<long>(out var at) && at > 0 ? DateTimeOffset.FromUnixTimeSeconds(at) : (DateTimeOffset?)null;
        return (new RegisteredClient(clientId, Text(answer, "client_secret"), expires, metadata.TokenEndpoint, bound!), null);
    }

    /// <summary>
    /// Takes client id <paramref name="clientId"/> from an application of <paramref name="accountId"/>'s (its tokens stop
    /// meaning it at once) and, when the portal registered it, deletes the client at the provider. Deleted: false when the
    /// provider is to delete it later (the sweep tries again), or it was not registered here.
    /// </summary>
    public async Task<(bool Deleted, AdminProblem? Problem)> RemoveAsync(string accountId, string id, string clientId, string actor, CancellationToken cancellationToken)
    {
        var (_, problem) = await _consumers.RemoveClientIdAsync(accountId, id, clientId, actor, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return (false, problem);
        }

        var registered = (await _consumers.Store.ListOAuthClientsAsync(id, cancellationToken).ConfigureAwait(false)).FirstOrDefault(r => r.ClientId == clientId);
        return (registered is not null && await DeleteAsync(registered, CancellationToken.None).ConfigureAwait(false), null);
    }

    /// <summary>Deletes at the provider the clients registered for <paramref name="application"/> that it no longer holds (it was deleted, say).</summary>
    public async Task DeleteUnboundAsync(string application, CancellationToken cancellationToken)
    {
        var held = (await _consumers.Store.GetApplicationAsync(application, cancellationToken).ConfigureAwait(false))?.ClientIds ?? [];
        foreach (var registration in await _consumers.Store.ListOAuthClientsAsync(application, cancellationToken).ConfigureAwait(false))
        {
            if (!held.Contains(registration.ClientId, StringComparer.Ordinal))
            {
                await DeleteAsync(registration, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Deletes at the provider every registered client whose application no longer holds its client id (older than
    /// <see cref="BindingGrace"/>); how many the store forgot.
    /// </summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var done = 0;
        foreach (var registration in await _consumers.Store.ListUnboundOAuthClientsAsync(_consumers.Time.GetUtcNow() - BindingGrace, 100, cancellationToken).ConfigureAwait(false))
        {
            done += await DeleteAsync(registration, cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }

        return done;
    }

    // Deletes the client at the provider (RFC 7592, section 2.3) and forgets it; false when the provider is to be asked
    // again later (it did not answer, or answered with an error that may pass).
    private async Task<bool> DeleteAsync(OAuthClientRegistration registration, CancellationToken cancellationToken, bool forget = true)
    {
        if (registration.ManagementUri is null || registration.ManagementToken is null)
        {
            LogLeft(_logger, registration.ClientId, registration.Issuer);
            await ForgetAsync(registration, forget, cancellationToken).ConfigureAwait(false);
            return true;
        }

        string token;
        try
        {
            token = _protector.Unprotect(registration.ManagementToken);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            LogUnreadable(_logger, registration.ClientId, e.Message);
            await ForgetAsync(registration, forget, cancellationToken).ConfigureAwait(false);
            return true;
        }

        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Delete, registration.ManagementUri);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            // Done when deleted, or gone already (404, 410: deleted at the provider by hand, say). RFC 7592 answers 401 for
            // a client that no longer exists as for a token that is no longer good: the portal cannot tell them apart, and
            // asking again would not change the answer, so 401 and 403 end it too, logged. Anything else is asked again.
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                LogTokenRefused(_logger, registration.ClientId, (int)response.StatusCode);
            }
            else if (!response.IsSuccessStatusCode && response.StatusCode is not (HttpStatusCode.NotFound or HttpStatusCode.Gone))
            {
                LogDeleteFailed(_logger, registration.ClientId, (int)response.StatusCode);
                return false;
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogUnreachable(_logger, "delete client " + registration.ClientId, e.Message);
            return false;
        }

        await ForgetAsync(registration, forget, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private Task ForgetAsync(OAuthClientRegistration registration, bool forget, CancellationToken cancellationToken) =>
        forget ? _consumers.Store.DeleteOAuthClientAsync(registration.ClientId, cancellationToken) : Task.CompletedTask;

    private async Task<OpenIdConnectConfiguration?> DiscoverAsync(CancellationToken cancellationToken)
    {
        try
        {
            var metadata = await _discovery.GetConfigurationAsync(cancellationToken).ConfigureAwait(false);
            if (metadata.Issuer?.TrimEnd('/') != _options.Issuer)
            {
                LogWrongIssuer(_logger, metadata.Issuer ?? "", _options.Issuer);
                return null;
            }

            return metadata;
        }
        catch (InvalidOperationException e)
        {
            LogUnreachable(_logger, "read the discovery document", e.InnerException?.Message ?? e.Message);
            return null;
        }
    }

    private static bool Reachable(Uri endpoint) => endpoint.Scheme == "https" || (endpoint.Scheme == "http" && OAuthRegistrationOptions.IsLoopback(endpoint));

    private static AdminProblem Unavailable(string detail) => new(StatusCodes.Status503ServiceUnavailable, "oauth-registration-unavailable", "OAuth provider unavailable", detail);

    private static StringContent JsonContent(JsonNode body) => new(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");

    private static string? Text(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    // The provider's own words (RFC 7591's error and error_description), printable and short, for the log and the page.
    private static string Said(string? body)
    {
        try
        {
            if (body is not null && JsonNode.Parse(body) is JsonObject o && Text(o, "error") is { } error)
            {
                var said = Text(o, "error_description") is { } description ? $"{error}, {description}" : error;
                return new string([.. said.Where(c => c is >= ' ' and <= '~').Take(200)]);
            }
        }
        catch (JsonException)
        {
        }

        return "";
    }

    public void Dispose() => _http.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "The OAuth provider refused to register a client: {Status} {Said}")]
    private static partial void LogRefused(ILogger logger, int status, string said);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not {What} at the OAuth provider: {Reason}")]
    private static partial void LogUnreachable(ILogger logger, string what, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The OAuth provider's registration answer is not usable: {Reason}")]
    private static partial void LogBadAnswer(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The OAuth provider's discovery document names issuer '{Named}', not '{Configured}': no client is registered there")]
    private static partial void LogWrongIssuer(ILogger logger, string named, string configured);

    [LoggerMessage(Level = LogLevel.Information, Message = "OAuth client {ClientId} is no longer any application's; {Issuer} gave no way to delete it, so it is left there (delete it there by hand)")]
    private static partial void LogLeft(ILogger logger, string clientId, string issuer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OAuth client {ClientId}'s registration access token cannot be read with this portal's keys ({Reason}); delete the client at the provider by hand")]
    private static partial void LogUnreadable(ILogger logger, string clientId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The OAuth provider answered {Status} to deleting client {ClientId} with its registration access token: taken as gone; if it is not, delete it there by hand")]
    private static partial void LogTokenRefused(ILogger logger, string clientId, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The OAuth provider answered {Status} to deleting client {ClientId}; the portal asks again later")]
    private static partial void LogDeleteFailed(ILogger logger, string clientId, int status);
}
