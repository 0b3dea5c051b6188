using System.CommandLine;
using Gatehouse.Management.Console;
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
    private readonly Option<string?> _oidcIssuer = new("--console-oidc-issuer") { Description = $"Single sign-on to the console: the OpenID Connect provider's issuer URL (https://, or http:// on loopback). Console users then sign in there; their address must be a console user's. The client secret comes from {ConsoleSsoOptions.SecretVariable}." };
    private readonly Option<string?> _oidcClient = new("--console-oidc-client-id") { Description = "The client id the provider gave the console (required with --console-oidc-issuer); register ORIGIN/console/sso/callback as its redirect URI." };
    private readonly Option<string?> _oidcName = new("--console-oidc-name") { Description = "What the console's sign-in button calls the provider (\"Sign in with NAME\"; default \"single sign-on\")." };
    private readonly Option<bool> _oidcTrustEmail = new("--console-oidc-trust-email") { Description = "Take the provider's email claim without email_verified=true beside it: only for a provider that issues the addresses itself and does not send that claim (Microsoft Entra ID)." };

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
        command.Options.Add(_oidcIssuer);
        command.Options.Add(_oidcClient);
        command.Options.Add(_oidcName);
        command.Options.Add(_oidcTrustEmail);
    }

    /// <summary>The chosen values; <c>Url</c> is null when the portal is off. A mistake in the SMTP options throws <see cref="ArgumentException"/>, whose message is the line to print.</summary>
    public Values Read(ParseResult parse, string defaultUrl)
    {
        var smtp = parse.GetValue(_smtp) is { } url ? SmtpSettings.Parse(url, Environment.GetEnvironmentVariable(SmtpSettings.PasswordVariable), parse.GetValue(_smtpCa)) : null;
        if (smtp is null && parse.GetValue(_smtpCa) is not null)
        {
            throw new ArgumentException("--portal-smtp-ca is for the SMTP server of --portal-smtp, which is not given.");
        }

        return new(parse.GetValue(_off) ? null : parse.GetValue(_url) ?? defaultUrl, parse.GetValue(_gateway),
            new WebSettings(parse.GetValue(_mail), smtp, parse.GetValue(_from), parse.GetValue(_public), parse.GetValue(_consolePublic), ReadSso(parse)));
    }

    // Checked here, so that a mistake is one line before anything starts (the admin API checks again what tests hand it).
    private ConsoleSsoOptions? ReadSso(ParseResult parse)
    {
        if (parse.GetValue(_oidcIssuer) is not { } issuer)
        {
            if (parse.GetValue(_oidcClient) is not null || parse.GetValue(_oidcName) is not null || parse.GetValue(_oidcTrustEmail))
            {
                throw new ArgumentException("--console-oidc-client-id, --console-oidc-name and --console-oidc-trust-email are for single sign-on, which needs --console-oidc-issuer too.");
            }

            return null;
        }

        var secret = Environment.GetEnvironmentVariable(ConsoleSsoOptions.SecretVariable);
        return ConsoleSsoOptions.Checked(new ConsoleSsoOptions
        {
            Issuer = issuer,
            ClientId = parse.GetValue(_oidcClient) ?? "",
            ClientSecret = string.IsNullOrEmpty(secret) ? null : secret,
            Name = parse.GetValue(_oidcName) ?? "single sign-on",
            TrustEmail = parse.GetValue(_oidcTrustEmail),
        });
    }

    public sealed record Values(string? Url, string? GatewayUrl, WebSettings Mail);
}

/// <summary>
/// What the portal and the console take from the command line beyond their listeners: where the portal's mails go and
/// who they come from, the public addresses links start with (the portal's, and the console's for its invitations and
/// single sign-on), and the console's single sign-on.
/// </summary>
internal sealed record WebSettings(string? Directory, SmtpSettings? Smtp, string? From, string? PublicUrl, string? ConsolePublicUrl = null, ConsoleSsoOptions? ConsoleSso = null);
