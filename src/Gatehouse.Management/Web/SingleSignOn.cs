using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Gatehouse.Management.Web;

/// <summary>
/// Signing in with an OpenID Connect provider (Keycloak, Microsoft Entra ID, Okta, Google, Dex, Authentik…), for the
/// console (<c>--console-oidc-*</c>) and the portal (<c>--portal-oidc-*</c>): the provider says who the person is,
/// matched by the email address it vouches for; the console's users, and the portal's accounts, say what they may do.
/// See docs/portal.md, "Single sign-on".
/// </summary>
public sealed record SingleSignOnOptions
{
    /// <summary>The provider's issuer URL, where <c>/.well-known/openid-configuration</c> is found: https, or http on loopback only.</summary>
    public required string Issuer { get; init; }

    /// <summary>The client (application) id registered at the provider.</summary>
    public required string ClientId { get; init; }

    /// <summary>The client's secret; null for a public client (the flow uses PKCE either way).</summary>
    public string? ClientSecret { get; init; }

    /// <summary>What the sign-in button calls the provider ("Sign in with NAME").</summary>
    public string Name { get; init; } = "single sign-on";

    /// <summary>
    /// Accept the provider's <c>email</c> claim without <c>email_verified: true</c> beside it. Only for a provider that
    /// issues addresses itself and does not send that claim (Microsoft Entra ID): with a provider where users type
    /// their own address, anyone could name someone else's address and come in as them.
    /// </summary>
    public bool TrustEmail { get; init; }

    /// <summary>
    /// Only the provider signs people in (<c>PREFIX-only</c>): no password is asked for, chosen or reset. On the console
    /// the admin token still signs in (the way in when the provider is down); on the portal nobody signs up or in otherwise.
    /// </summary>
    public bool Only { get; init; }

    /// <summary>
    /// Signing out of the site after single sign-on also ends the browser's session at the provider (OpenID Connect
    /// RP-Initiated Logout 1.0, <c>PREFIX-end-session</c>): the ID token the provider issued is kept in the site's session
    /// for its <c>id_token_hint</c>, and the provider sends the browser back to <c>ROOT/sso/signed-out</c>. Off by default:
    /// for most people a provider's session is their whole company's single sign-on, which one site's sign-out should
    /// not end; on shared computers it should.
    /// </summary>
    public bool EndSession { get; init; }

    /// <summary>The refusal of a password form while <see cref="Only"/>.</summary>
    internal string PasswordsOffText => $"Here you sign in with {Name}: passwords are not used.";

    /// <summary>The command-line options' prefix (<c>--console-oidc</c>, <c>--portal-oidc</c>), for the messages.</summary>
    public string Options { get; init; } = "--console-oidc";

    /// <summary>Checks the options; the one-line reason when they cannot work.</summary>
    public static SingleSignOnOptions Checked(SingleSignOnOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Options;
        if (!Uri.TryCreate(options.Issuer, UriKind.Absolute, out var issuer) || issuer.Scheme is not ("https" or "http")
            || issuer.Query.Length > 0 || issuer.Fragment.Length > 0 || issuer.UserInfo.Length > 0)
        {
            throw new ArgumentException($"{o}-issuer '{options.Issuer}' is not an issuer URL; give the provider's issuer as its discovery document names it, like https://login.example.com/realms/staff.");
        }

        if (issuer.Scheme == "http" && !(issuer.IsLoopback || (IPAddress.TryParse(issuer.Host, out var ip) && IPAddress.IsLoopback(ip))))
        {
            throw new ArgumentException($"{o}-issuer '{options.Issuer}' is plain http to another machine: the provider's keys and tokens would cross the network unprotected; give its https:// address.");
        }

        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            throw new ArgumentException($"{o}-issuer needs {o}-client-id, the id the provider gave this client.");
        }

        return options with { Issuer = options.Issuer.TrimEnd('/'), Name = string.IsNullOrWhiteSpace(options.Name) ? "single sign-on" : options.Name.Trim() };
    }

    /// <summary>
    /// The OpenID Connect handler of one site. <paramref name="root"/> is where the site's pages are (<c>/console</c>,
    /// or empty for the portal): the callback is <c>ROOT/sso/callback</c>, and the handler's cookies are scoped to it.
    /// <paramref name="origin"/> gives the site's address as browsers reach it (a configured public URL, or the
    /// connection's own address; never the Host header): the provider sends the browser back there, and accepts only
    /// the redirect URIs registered for the client.
    /// </summary>
    internal void Configure(OpenIdConnectOptions o, string root, string answerScheme, Func<HttpContext, string> origin, Func<RemoteFailureContext, Task> failed)
    {
        o.Authority = Issuer;
        o.RequireHttpsMetadata = Issuer.StartsWith("https://", StringComparison.Ordinal);
        o.ClientId = ClientId;
        o.ClientSecret = ClientSecret;
        // The authorization code flow with PKCE, the code back in the query string: the state and nonce cookies are
        // SameSite=Lax (so a page of another site cannot carry them), which a top-level GET back from the provider
        // carries and the default form post from the provider's origin would not.
        o.ResponseType = OpenIdConnectResponseType.Code;
        o.ResponseMode = OpenIdConnectResponseMode.Query;
        o.UsePkce = true;
        o.Scope.Clear();
        o.Scope.Add("openid");
        o.Scope.Add("email");
        o.Scope.Add("profile");
        o.GetClaimsFromUserInfoEndpoint = true;
        // The user info's email_verified is dropped unless mapped (the handler keeps only a few well-known keys); many
        // providers put the email claims there and not in the ID token.
        o.ClaimActions.MapUniqueJsonKey("email_verified", "email_verified");
        o.MapInboundClaims = false;
        o.SaveTokens = false; // the provider's tokens are not needed after sign-in, so they are not kept in a cookie
        o.DisableTelemetry = true;
        o.BackchannelTimeout = TimeSpan.FromSeconds(10);
        // The provider's tokens are checked against the real clock (the provider's own is one), whatever clock the
        // site's sessions run on; so are the state and nonce cookies' expiries.
        o.TimeProvider = TimeProvider.System;
        o.SignInScheme = answerScheme;
        o.SignOutScheme = answerScheme;
        var callback = root + "/sso/callback";
        o.CallbackPath = callback;
        // The handler also answers these two paths; kept under the site's own.
        o.SignedOutCallbackPath = root + "/sso/signed-out";
        o.RemoteSignOutPath = root + "/sso/sign-out";
        foreach (var cookie in (CookieBuilder[])[o.CorrelationCookie, o.NonceCookie])
        {
            cookie.Path = root.Length == 0 ? "/" : root;
            cookie.SameSite = SameSiteMode.Lax;
            cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.HttpOnly = true;
        }

        o.Events.OnRedirectToIdentityProvider = context =>
        {
            context.ProtocolMessage.RedirectUri = origin(context.HttpContext) + callback;
            return Task.CompletedTask;
        };
        o.Events.OnRemoteFailure = failed;
        if (EndSession)
        {
            // Only the ID token is kept (for the hint), not the access or refresh tokens SaveTokens would add.
            o.Events.OnTokenValidated = context =>
            {
                if ((context.TokenEndpointResponse?.IdToken ?? context.ProtocolMessage.IdToken) is { Length: > 0 } idToken)
                {
                    context.Properties!.StoreTokens([new AuthenticationToken { Name = IdTokenName, Value = idToken }]);
                }

                return Task.CompletedTask;
            };
            o.Events.OnRedirectToIdentityProviderForSignOut = context =>
            {
                // The hint comes with the sign-out's properties (SignOutOfProviderAsync), which are then sent to the
                // provider as the protected state: the token leaves them first. The client id is sent too, which the
                // spec allows beside the hint and some providers need without one. Back to the site's own address,
                // never one built from the Host header.
                context.ProtocolMessage.IdTokenHint = context.Properties.GetTokenValue(IdTokenName);
                context.Properties.StoreTokens([]);
                context.ProtocolMessage.ClientId = ClientId;
                context.ProtocolMessage.PostLogoutRedirectUri = origin(context.HttpContext) + root + "/sso/signed-out";
                return Task.CompletedTask;
            };
        }
    }

    /// <summary>The name the provider's ID token is kept under in a session (<see cref="EndSession"/>).</summary>
    internal const string IdTokenName = "id_token";

    /// <summary>
    /// Sessions made through single sign-on keep the provider's ID token in their properties (<see cref="EndSession"/>);
    /// these are the properties of a new session, with <paramref name="idToken"/> when there is one.
    /// </summary>
    internal static AuthenticationProperties SessionProperties(string? idToken)
    {
        var properties = new AuthenticationProperties();
        if (idToken is { Length: > 0 })
        {
            properties.StoreTokens([new AuthenticationToken { Name = IdTokenName, Value = idToken }]);
        }

        return properties;
    }

    /// <summary>
    /// After the site's own session has ended: sends the browser to the provider's end-session endpoint with
    /// <paramref name="idToken"/> as the hint, to come back to <c>ROOT/sso/signed-out</c> and then <paramref name="then"/>.
    /// False, with nothing written, when the provider offers no end-session endpoint or cannot be reached (the reason is
    /// in <paramref name="failure"/>): the caller then finishes the sign-out locally.
    /// </summary>
    internal static async Task<bool> SignOutOfProviderAsync(HttpContext context, string scheme, string idToken, string then, Action<Exception> failure)
    {
        var properties = new AuthenticationProperties { RedirectUri = then };
        properties.StoreTokens([new AuthenticationToken { Name = IdTokenName, Value = idToken }]);
        try
        {
            await context.SignOutAsync(scheme, properties).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException && !context.Response.HasStarted)
        {
            failure(e);
            return false;
        }
    }

    /// <summary>The short-lived cookie that carries the provider's answer from its callback to the site's sign-in.</summary>
    internal static void ConfigureAnswer(CookieAuthenticationOptions o, string name, string root)
    {
        o.Cookie.Name = name;
        o.Cookie.Path = root.Length == 0 ? "/" : root;
        o.Cookie.HttpOnly = true;
        o.Cookie.SameSite = SameSiteMode.Lax;
        o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        o.ExpireTimeSpan = TimeSpan.FromMinutes(5);
        o.SlidingExpiration = false;
        o.TimeProvider = TimeProvider.System;
    }

    /// <summary>
    /// The address the provider vouches for, normalized, or why it cannot be used: missing, or not verified (unless
    /// <see cref="TrustEmail"/>).
    /// </summary>
    internal (string? Email, string? Refusal) VerifiedEmail(System.Security.Claims.ClaimsPrincipal who)
    {
        var claimed = who.FindFirst("email")?.Value;
        var email = claimed is null ? "" : Consumers.ConsumerService.NormalizeEmail(claimed);
        if (email.Length == 0 || Consumers.ConsumerService.CheckEmail(email) is not null)
        {
            return (null, $"{Name} did not give an email address, which is how you are known here. Ask whoever runs it to release the email claim (scope \"email\") to this client.");
        }

        // A JSON true, or the string.
        if (!TrustEmail && !string.Equals(who.FindFirst("email_verified")?.Value, "true", StringComparison.OrdinalIgnoreCase))
        {
            return (email, $"{Name} has not verified the address {email}, so it cannot say whose it is. Verify it there and sign in again.");
        }

        return (email, null);
    }

    /// <summary>
    /// Sends the browser to the provider (<c>GET ROOT/sso</c>), to come back to <c>ROOT/sso/done</c> with the request's
    /// <c>returnUrl</c> when it is one of the site's. When the provider's discovery document or keys cannot be read (it
    /// is down, or the issuer is wrong) the handler throws; then <paramref name="unreachable"/> answers (a page, and the
    /// reason in the log).
    /// </summary>
    internal static async Task ChallengeAsync(HttpContext context, string scheme, string root, Func<Exception, Task> unreachable)
    {
        var done = WebForms.ReturnUrl(context, root + "/") is { } back ? root + "/sso/done?returnUrl=" + Uri.EscapeDataString(back) : root + "/sso/done";
        try
        {
            await context.ChallengeAsync(scheme, new AuthenticationProperties { RedirectUri = done }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException && !context.Response.HasStarted)
        {
            await unreachable(e).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The provider's answer, as the handler left it in the short-lived cookie of <paramref name="answerScheme"/>; the
    /// cookie goes whatever comes of it (an answer is used once). Null when there is none (arrived without signing in).
    /// The provider's ID token comes with it when the site ends provider sessions (<see cref="EndSession"/>).
    /// </summary>
    internal static async Task<(System.Security.Claims.ClaimsPrincipal? Who, string? IdToken)> TakeAnswerAsync(HttpContext context, string answerScheme)
    {
        var answer = await context.AuthenticateAsync(answerScheme).ConfigureAwait(false);
        await context.SignOutAsync(answerScheme).ConfigureAwait(false);
        return answer.Succeeded ? (answer.Principal, answer.Properties?.GetTokenValue(IdTokenName)) : (null, null);
    }

    /// <summary>Where, under the site's root, the provider posts logout tokens (OpenID Connect Back-Channel Logout 1.0).</summary>
    internal const string BackChannelPath = "/sso/backchannel-logout";

    // The logout tokens taken, by issuer and jti, for as long as one is accepted (a token is used once: OpenID Connect
    // Back-Channel Logout 1.0, section 2.6); per process, and bounded.
    private static readonly Microsoft.Extensions.Caching.Memory.MemoryCache Taken = new(new Microsoft.Extensions.Caching.Memory.MemoryCacheOptions { SizeLimit = 10_000 });

    // How old a logout token may be (its iat), and how far the provider's clock may be ahead of this one.
    private static readonly TimeSpan LogoutTokenAge = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(2);

    private const string BackChannelEvent = "http://schemas.openid.net/event/backchannel-logout";

    private const long MaxLogoutBody = 16 * 1024;

    /// <summary>
    /// The provider ending someone's sessions here (OpenID Connect Back-Channel Logout 1.0): <c>POST
    /// ROOT/sso/backchannel-logout</c> with a form field <c>logout_token</c>, a JWT signed with the provider's keys (from its
    /// discovery document, as the ID tokens are checked), issued by it for this client, no older than ten minutes, with the
    /// back-channel logout event, a <c>jti</c> (each token is taken once), no <c>nonce</c>, and the subject
    /// (<c>sub</c>). <paramref name="end"/> is given the issuer and the subject, and ends the sessions of whoever is bound
    /// to that identity here (nobody, possibly). Answers 200, or 400 with an OAuth-style error body saying what is wrong
    /// (spec, section 2.8), or 503 when the provider's keys cannot be read; never cached.
    /// </summary>
    internal async Task BackChannelLogoutAsync(HttpContext context, string scheme, Func<string, string, Task> end, Action<string> refused)
    {
        context.Response.Headers.CacheControl = "no-store";
        // Anyone may post here before the token is checked, and a logout token is a few kilobytes: a larger body is not
        // taken as a form. It is read on and dropped (up to four times that), so that the refusal reaches the sender rather
        // than being lost to the reset a close with unread data in the socket causes; past that the connection just ends.
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = 4 * MaxLogoutBody;
        }

        Microsoft.Extensions.Primitives.StringValues token = default;
        try
        {
            if (context.Request.HasFormContentType && context.Request.ContentLength is null or <= MaxLogoutBody)
            {
                token = (await context.Request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions { ValueLengthLimit = (int)MaxLogoutBody }, context.RequestAborted)
                    .ConfigureAwait(false))["logout_token"];
            }
            else
            {
                await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is BadHttpRequestException or InvalidDataException)
        {
            // Larger than a logout token (sent without a length), or not a form: refused below as any other.
        }

        if (token.Count != 1 || string.IsNullOrEmpty(token[0]))
        {
            await RefuseLogoutAsync(context, "The request must be a form post with one logout_token.", refused).ConfigureAwait(false);
            return;
        }

        var options = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<OpenIdConnectOptions>>().Get(scheme);
        var result = await ValidateLogoutTokenAsync(options, token[0]!, context.RequestAborted).ConfigureAwait(false);
        if (result is { IsValid: false, Exception: Microsoft.IdentityModel.Tokens.SecurityTokenSignatureKeyNotFoundException })
        {
            // The provider may have turned to a new key since its keys were read: read them again, once.
            options.ConfigurationManager!.RequestRefresh();
            result = await ValidateLogoutTokenAsync(options, token[0]!, context.RequestAborted).ConfigureAwait(false);
        }

        if (result is null)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            refused($"{Name}'s keys could not be read from {Issuer}");
            await context.Response.WriteAsJsonAsync(new { error = "temporarily_unavailable", error_description = $"The keys of {Issuer} could not be read; send the logout again later." }).ConfigureAwait(false);
            return;
        }

        if (!result.IsValid || result.SecurityToken is not Microsoft.IdentityModel.JsonWebTokens.JsonWebToken jwt)
        {
            await RefuseLogoutAsync(context, $"The logout token is not one {Issuer} signed for client {ClientId}, or it expired ({result.Exception?.GetType().Name ?? "invalid"}).", refused).ConfigureAwait(false);
            return;
        }

        string? problem, subject;
        using (var payload = System.Text.Json.JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload)))
        {
            problem = LogoutClaimsProblem(payload.RootElement, jwt.Issuer, DateTimeOffset.UtcNow, out subject);
        }

        if (problem is not null)
        {
            await RefuseLogoutAsync(context, problem, refused).ConfigureAwait(false);
            return;
        }

        await end(jwt.Issuer, subject!).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    // Why a signed token's claims are not a logout token's (spec, section 2.4), or null with its subject. The jti is taken
    // last, so that a token refused for another reason can be sent again once whatever was wrong is right.
    private static string? LogoutClaimsProblem(System.Text.Json.JsonElement claims, string issuer, DateTimeOffset now, out string? subject)
    {
        subject = null;
        if (!claims.TryGetProperty("events", out var events) || events.ValueKind != System.Text.Json.JsonValueKind.Object
            || !events.TryGetProperty(BackChannelEvent, out var logout) || logout.ValueKind != System.Text.Json.JsonValueKind.Object)
        {
            return $"The token has no '{BackChannelEvent}' event: it is not a logout token.";
        }

        if (claims.TryGetProperty("nonce", out _))
        {
            return "The token has a nonce, which a logout token must not have (an ID token is not a logout token).";
        }

        if (!claims.TryGetProperty("iat", out var iat) || !iat.TryGetInt64(out var seconds)
            || DateTimeOffset.FromUnixTimeSeconds(seconds) is var issued && (issued < now - LogoutTokenAge || issued > now + ClockSkew))
        {
            return $"The token's iat is missing or not within the last {LogoutTokenAge.TotalMinutes:0} minutes.";
        }

        if (!claims.TryGetProperty("jti", out var jti) || jti.ValueKind != System.Text.Json.JsonValueKind.String || jti.GetString() is not { Length: > 0 } id)
        {
            return "The token has no jti.";
        }

        if (!claims.TryGetProperty("sub", out var sub) || sub.ValueKind != System.Text.Json.JsonValueKind.String || sub.GetString() is not { Length: > 0 } named)
        {
            return "The token names no subject (sub): sessions here are found by the provider's subject, so a token with only a sid cannot be served.";
        }

        subject = named;
        return TakeOnce(issuer + "\n" + id) ? null : "The token was used already (its jti).";
    }

    // True the first time a token's issuer and jti are seen (while the cache has room: past 10,000 recent tokens a replay
    // within ten minutes is not caught, and at worst ends the same sessions again).
    private static bool TakeOnce(string key)
    {
        lock (Taken)
        {
            if (Taken.TryGetValue(key, out _))
            {
                return false;
            }

            using var entry = Taken.CreateEntry(key);
            entry.Value = true;
            entry.Size = 1;
            entry.AbsoluteExpirationRelativeToNow = LogoutTokenAge + ClockSkew;
            return true;
        }
    }

    // Null when the provider's configuration (its keys) cannot be read.
    private async Task<Microsoft.IdentityModel.Tokens.TokenValidationResult?> ValidateLogoutTokenAsync(OpenIdConnectOptions options, string token, CancellationToken cancellationToken)
    {
        OpenIdConnectConfiguration configuration;
        try
        {
            configuration = await options.ConfigurationManager!.GetConfigurationAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException)
        {
            return null;
        }

        return await new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler { MapInboundClaims = false }.ValidateTokenAsync(token, new Microsoft.IdentityModel.Tokens.TokenValidationParameters
        {
            ValidIssuer = configuration.Issuer,
            ValidAudience = ClientId,
            IssuerSigningKeys = configuration.SigningKeys,
            RequireSignedTokens = true,
            RequireExpirationTime = false, // a logout token need not expire; its iat is checked instead
            ClockSkew = ClockSkew,
            TypeValidator = (type, _, _) => type is null or "" or "JWT" or "logout+jwt" ? type ?? "" : throw new Microsoft.IdentityModel.Tokens.SecurityTokenInvalidTypeException($"typ '{type}' is not a logout token's"),
        }).ConfigureAwait(false);
    }

    private static Task RefuseLogoutAsync(HttpContext context, string reason, Action<string> refused)
    {
        refused(reason);
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        return context.Response.WriteAsJsonAsync(new { error = "invalid_request", error_description = reason });
    }

    /// <summary>The page's words for a provider that cannot be reached.</summary>
    internal string UnreachableText(string otherWay) => $"{Name} cannot be reached at the moment; try again shortly, or {otherWay}.";

    /// <summary>
    /// Why a binding to the provider identity refuses this sign-in, or null when it holds (the same identity as before,
    /// or bound now). <paramref name="release"/> is how an administrator releases <paramref name="email"/>'s binding.
    /// </summary>
    internal string? LinkRefusal(Stores.SsoLinkOutcome outcome, string email, string release) => outcome switch
    {
        Stores.SsoLinkOutcome.OwnerLinkedElsewhere =>
            $"{Name} signed you in as {email}, but {email} here belongs to another {Name} account (the address may have been given to someone else there). An administrator can release it ({release}).",
        Stores.SsoLinkOutcome.IdentityLinkedElsewhere => $"This {Name} account already belongs to someone else here.",
        _ => null,
    };

    /// <summary>The refusal of an answer without a subject (<c>sub</c>), which every OpenID Connect ID token has.</summary>
    internal string NoSubject => $"{Name}'s answer names no subject (sub), so it cannot say who you are.";

    /// <summary>What the provider answered when it did not sign someone in, in words for a page; never the handler's exception.</summary>
    internal string FailureText(RemoteFailureContext context)
    {
        var query = context.HttpContext.Request.Query;
        var error = query["error"].ToString();
        return error switch
        {
            "access_denied" => $"{Name} did not sign you in (it was cancelled or refused there).",
            { Length: > 0 } => $"{Name} answered with the error \"{Limit(error)}\": {Limit(query["error_description"].ToString())}",
            _ => $"{Name}'s answer could not be used ({Limit(context.Failure?.Message ?? "no reason given")}). Sign in again; if it happens again, the log says more.",
        };
    }

    // What the provider or the handler wrote is shown, but not at any length (it is text from elsewhere; the page encodes it).
    private static string Limit(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
