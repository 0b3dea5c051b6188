using System.CommandLine;
using Gatehouse.Management.Web;
using Gatehouse.Management.Portal;

namespace Gatehouse.Cli.Commands;

/// <summary>The portal's command-line options, shared by <c>run --store</c> and <c>demo</c>.</summary>
internal sealed class PortalOptionSet
{
    private readonly Option<string?> _url = new("--portal-url") { Description = $"Where the developer portal listens (default {PortalOptions.DefaultUrl})." };
    private readonly Option<bool> _off = new("--no-portal") { Description = "Do not start the developer portal." };
    private readonly Option<string?> _gateway = new("--portal-gateway-url") { Description = "The gateway's public URL, as the portal's API documents and try-it use it (default: the gateway's first listener)." };
    private readonly Option<string?> _mail = new("--portal-mail-dir") { Description = "Folder where the portal writes its mails (password resets) as .eml files, for an MTA to pick up; without it or --portal-smtp, no mail is sent." };
    private readonly Option<string?> _smtp = new("--portal-smtp") { Description = $"SMTP server the portal sends its mails through: smtp://[USER@]HOST[:PORT] (STARTTLS), smtps://... (TLS) or smtp://HOST:PORT?tls=none; the password comes from {SmtpSettings.PasswordVariable}." };
    private readonly Option<string?> _smtpCa = new("--portal-smtp-ca") { Description = "PEM file of the CA certificates the SMTP server's certificate must chain to (default: the system's)." };
    private readonly Option<string?> _from = new("--portal-mail-from") { Description = "The address the portal's mails come from, e.g. \"API portal <noreply@example.com>\" (required with --portal-smtp)." };
    private readonly Option<string?> _public = new("--portal-public-url") { Description = "The portal's address as users reach it (e.g. https://portal.example.com), for links in mails; required with mail unless the portal listens on loopback." };
    private readonly Option<string?> _consolePublic = new("--console-public-url") { Description = "The admin console's address as administrators reach it (e.g. https://admin.example.com), for the links in console invitations and password resets, and single sign-on's return address (default: the address each request reached)." };
    private readonly SingleSignOnOptionSet _consoleSso = new("--console-oidc", "GATEHOUSE_CONSOLE_OIDC_SECRET", "the console",
        "Console users then sign in there; their address must be a console user's.", "ORIGIN/console/sso/callback");
    private readonly SingleSignOnOptionSet _portalSso = new("--portal-oidc", "GATEHOUSE_PORTAL_OIDC_SECRET", "the developer portal",
        "Consumers then sign up and in there; an account is made for a verified address that has none.", "ORIGIN/sso/callback");

    private readonly Option<string?> _oauth = new("--portal-oauth-issuer")
    {
        Description = $"Consumers register OAuth clients for their applications at this provider (OpenID Connect discovery and Dynamic Client Registration, RFC 7591; https://, or http:// on loopback); its initial access token, if it wants one, comes from {OAuthRegistrationOptions.TokenVariable}. Name the same issuer in gateway.jwt.issuers so that the gateway accepts the clients' tokens.",
    };

    public static PortalOptionSet Create() => new();

    public void AddTo(Command command)
    {
        command.Options.Add(_url);
        command.Options.Add(_off);
        command.Options.Add(_gateway);
        command.Options.Add(_mail);
        command.Options.Add(_smtp);
        command.Options.Add(_smtpCa);
        command.Options.Add(_from);
        command.Options.Add(_public);
        command.Options.Add(_consolePublic);
        command.Options.Add(_oauth);
        _consoleSso.AddTo(command);
        _portalSso.AddTo(command);
    }

    /// <summary>The chosen values; <c>Url</c> is null when the portal is off. A mistake in the SMTP options throws <see cref="ArgumentException"/>, whose message is the line to print.</summary>
    public Values Read(ParseResult parse, string defaultUrl)
    {
        var smtp = parse.GetValue(_smtp) is { } url ? SmtpSettings.Parse(url, Environment.GetEnvironmentVariable(SmtpSettings.PasswordVariable), parse.GetValue(_smtpCa)) : null;
        if (smtp is null && parse.GetValue(_smtpCa) is not null)
        {
            throw new ArgumentException("--portal-smtp-ca is for the SMTP server of --portal-smtp, which is not given.");
        }

        // Checked here, so that a mistake is one line before anything starts.
        var oauth = parse.GetValue(_oauth) is { } issuer
            ? OAuthRegistrationOptions.Checked(new OAuthRegistrationOptions { Issuer = issuer, InitialAccessToken = Environment.GetEnvironmentVariable(OAuthRegistrationOptions.TokenVariable) })
            : null;
        return new(parse.GetValue(_off) ? null : parse.GetValue(_url) ?? defaultUrl, parse.GetValue(_gateway),
            new WebSettings(parse.GetValue(_mail), smtp, parse.GetValue(_from), parse.GetValue(_public), parse.GetValue(_consolePublic), _consoleSso.Read(parse), _portalSso.Read(parse), oauth));
    }

    public sealed record Values(string? Url, string? GatewayUrl, WebSettings Mail);
}

/// <summary>
/// What the portal and the console take from the command line beyond their listeners: where the portal's mails go and
/// who they come from, the public addresses links start with (the portal's, and the console's for its invitations and
/// single sign-on), and the console's single sign-on.
/// </summary>
internal sealed record WebSettings(string? Directory, SmtpSettings? Smtp, string? From, string? PublicUrl, string? ConsolePublicUrl = null,
    SingleSignOnOptions? ConsoleSso = null, SingleSignOnOptions? PortalSso = null, OAuthRegistrationOptions? PortalOAuth = null);

/// <summary>The options of one site's single sign-on (<c>PREFIX-issuer</c>, <c>-client-id</c>, <c>-name</c>, <c>-trust-email</c>, <c>-only</c>, <c>-end-session</c>), the secret from the environment.</summary>
internal sealed class SingleSignOnOptionSet
{
    private readonly string _prefix;
    private readonly string _secretVariable;
    private readonly Option<string?> _issuer;
    private readonly Option<string?> _client;
    private readonly Option<string?> _name;
    private readonly Option<bool> _trustEmail;
    private readonly Option<bool> _only;
    private readonly Option<bool> _endSession;

    public SingleSignOnOptionSet(string prefix, string secretVariable, string site, string who, string redirect)
    {
        (_prefix, _secretVariable) = (prefix, secretVariable);
        _issuer = new(prefix + "-issuer") { Description = $"Single sign-on to {site}: the OpenID Connect provider's issuer URL (https://, or http:// on loopback). {who} The client secret comes from {secretVariable}." };
        _client = new(prefix + "-client-id") { Description = $"The client id the provider gave {site} (required with {prefix}-issuer); register {redirect} as its redirect URI." };
        _name = new(prefix + "-name") { Description = $"What {site}'s sign-in button calls the provider (\"Sign in with NAME\"; default \"single sign-on\")." };
        _only = new(prefix + "-only") { Description = $"Only the provider signs people in to {site}: no password is asked for, chosen or reset (on the console the admin token still signs in)." };
        _trustEmail = new(prefix + "-trust-email") { Description = "Take the provider's email claim without email_verified=true beside it: only for a provider that issues the addresses itself and does not send that claim (Microsoft Entra ID)." };
        _endSession = new(prefix + "-end-session")
        {
            Description = $"Signing out of {site} after single sign-on also signs the browser out of the provider (OpenID Connect RP-initiated logout), so the next person at that browser is asked to sign in there; register {redirect.Replace("/sso/callback", "/sso/signed-out", StringComparison.Ordinal)} as a post-logout redirect URI.",
        };
    }

    public void AddTo(Command command)
    {
        command.Options.Add(_issuer);
        command.Options.Add(_client);
        command.Options.Add(_name);
        command.Options.Add(_trustEmail);
        command.Options.Add(_only);
        command.Options.Add(_endSession);
    }

    // Checked here, so that a mistake is one line before anything starts (the hosts check again what tests hand them).
    public SingleSignOnOptions? Read(ParseResult parse)
    {
        if (parse.GetValue(_issuer) is not { } issuer)
        {
            if (parse.GetValue(_client) is not null || parse.GetValue(_name) is not null || parse.GetValue(_trustEmail) || parse.GetValue(_only) || parse.GetValue(_endSession))
            {
                throw new ArgumentException($"{_prefix}-client-id, {_prefix}-name, {_prefix}-trust-email, {_prefix}-only and {_prefix}-end-session are for single sign-on, which needs {_prefix}-issuer too.");
            }

            return null;
        }

        var secret = Environment.GetEnvironmentVariable(_secretVariable);
        return SingleSignOnOptions.Checked(new SingleSignOnOptions
        {
            Issuer = issuer,
            ClientId = parse.GetValue(_client) ?? "",
            ClientSecret = string.IsNullOrEmpty(secret) ? null : secret,
            Name = parse.GetValue(_name) ?? "single sign-on",
            TrustEmail = parse.GetValue(_trustEmail),
            Only = parse.GetValue(_only),
            EndSession = parse.GetValue(_endSession),
            Options = _prefix,
        });
    }
}
