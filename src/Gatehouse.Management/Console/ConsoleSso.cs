using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Gatehouse.Management.Console;

/// <summary>
/// Single sign-on to the admin console with an OpenID Connect provider (Keycloak, Microsoft Entra ID, Okta, Google,
/// Dex, Authentik…): <c>--console-oidc-issuer</c>, <c>--console-oidc-client-id</c> and the client secret from
/// <see cref="SecretVariable"/>. The provider says who the person is; Gatehouse's own console users say who may come in
/// and with which role, matched by the email address the provider vouches for. See docs/portal.md, "Single sign-on".
/// </summary>
public sealed record ConsoleSsoOptions
{
    /// <summary>The environment variable the client secret is read from (never a command-line argument: those are visible to every user of the machine).</summary>
    public const string SecretVariable = "GATEHOUSE_CONSOLE_OIDC_SECRET";

    /// <summary>The provider's issuer URL, where <c>/.well-known/openid-configuration</c> is found: https, or http on loopback only.</summary>
    public required string Issuer { get; init; }

    /// <summary>The client (application) id registered at the provider for the console.</summary>
    public required string ClientId { get; init; }

    /// <summary>The client's secret; null for a public client (the flow uses PKCE either way).</summary>
    public string? ClientSecret { get; init; }

    /// <summary>What the sign-in button calls the provider ("Sign in with NAME").</summary>
    public string Name { get; init; } = "single sign-on";

    /// <summary>
    /// Accept the provider's <c>email</c> claim without <c>email_verified: true</c> beside it. Only for a provider that
    /// issues addresses itself and does not send that claim (Microsoft Entra ID): with a provider where users type
    /// their own address, anyone could name a console user's address and come in as them.
    /// </summary>
    public bool TrustEmail { get; init; }

    /// <summary>Checks the options; the one-line reason when they cannot work.</summary>
    public static ConsoleSsoOptions Checked(ConsoleSsoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Uri.TryCreate(options.Issuer, UriKind.Absolute, out var issuer) || issuer.Scheme is not ("https" or "http")
            || issuer.Query.Length > 0 || issuer.Fragment.Length > 0 || issuer.UserInfo.Length > 0)
        {
            throw new ArgumentException($"--console-oidc-issuer '{options.Issuer}' is not an issuer URL; give the provider's issuer as its discovery document names it, like https://login.example.com/realms/staff.");
        }

        if (issuer.Scheme == "http" && !(issuer.IsLoopback || (IPAddress.TryParse(issuer.Host, out var ip) && IPAddress.IsLoopback(ip))))
        {
            throw new ArgumentException($"--console-oidc-issuer '{options.Issuer}' is plain http to another machine: the provider's keys and tokens would cross the network unprotected; give its https:// address.");
        }

        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            throw new ArgumentException("--console-oidc-issuer needs --console-oidc-client-id, the id the provider gave the console's client.");
        }

        return options with { Issuer = options.Issuer.TrimEnd('/'), Name = string.IsNullOrWhiteSpace(options.Name) ? "single sign-on" : options.Name.Trim() };
    }

    /// <summary>The console's OpenID Connect handler, run for <c>/console</c> only.</summary>
    internal void Configure(OpenIdConnectOptions o)
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
        o.GetClaimsFromUserInfoEndpoint = true;
        // The user info's email_verified is dropped unless mapped (the handler keeps only a few well-known keys); many
        // providers put the email claims there and not in the ID token.
        o.ClaimActions.MapUniqueJsonKey("email_verified", "email_verified");
        o.MapInboundClaims = false;
        o.SaveTokens = false; // the provider's tokens are not needed after sign-in, so they are not kept in a cookie
        o.DisableTelemetry = true;
        o.BackchannelTimeout = TimeSpan.FromSeconds(10);
        o.SignInScheme = ConsoleEndpoints.SsoExternalScheme;
        o.SignOutScheme = ConsoleEndpoints.SsoExternalScheme;
        o.CallbackPath = ConsoleEndpoints.SsoCallbackPath;
        // The handler also answers these two paths; kept under /console, where the console's middleware runs.
        o.SignedOutCallbackPath = "/console/sso/signed-out";
        o.RemoteSignOutPath = "/console/sso/sign-out";
        foreach (var cookie in (CookieBuilder[])[o.CorrelationCookie, o.NonceCookie])
        {
            cookie.Path = "/console";
            cookie.SameSite = SameSiteMode.Lax;
            cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.HttpOnly = true;
        }

        o.Events.OnRedirectToIdentityProvider = context =>
        {
            // The address the provider sends the browser back to: --console-public-url, or this connection's own
            // address (never the Host header); the provider only accepts the ones registered for the client.
            context.ProtocolMessage.RedirectUri = ConsoleEndpoints.Origin(context.HttpContext) + ConsoleEndpoints.SsoCallbackPath;
            return Task.CompletedTask;
        };
        o.Events.OnRemoteFailure = ConsoleEndpoints.SsoFailedAsync;
    }

    /// <summary>The short-lived cookie that carries the provider's answer from its callback to the console's sign-in.</summary>
    internal static void ConfigureExternal(CookieAuthenticationOptions o)
    {
        o.Cookie.Name = "gatehouse.console.sso";
        o.Cookie.Path = "/console";
        o.Cookie.HttpOnly = true;
        o.Cookie.SameSite = SameSiteMode.Lax;
        o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        o.ExpireTimeSpan = TimeSpan.FromMinutes(5);
        o.SlidingExpiration = false;
    }
}
