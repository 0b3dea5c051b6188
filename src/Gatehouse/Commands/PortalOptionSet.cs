using System.CommandLine;
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
    private readonly Option<string?> _consolePublic = new("--console-public-url") { Description = "The admin console's address as administrators reach it (e.g. https://admin.example.com), for the links in console invitations and password resets (default: the address each request reached)." };

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
    }

    /// <summary>The chosen values; <c>Url</c> is null when the portal is off. A mistake in the SMTP options throws <see cref="ArgumentException"/>, whose message is the line to print.</summary>
    public Values Read(ParseResult parse, string defaultUrl)
    {
        var smtp = parse.GetValue(_smtp) is { } url ? SmtpSettings.Parse(url, Environment.GetEnvironmentVariable(SmtpSettings.PasswordVariable), parse.GetValue(_smtpCa)) : null;
        if (smtp is null && parse.GetValue(_smtpCa) is not null)
        {
            throw new ArgumentException("--portal-smtp-ca is for the SMTP server of --portal-smtp, which is not given.");
        }

        return new(parse.GetValue(_off) ? null : parse.GetValue(_url) ?? defaultUrl, parse.GetValue(_gateway), new PortalMailSettings(parse.GetValue(_mail), smtp, parse.GetValue(_from), parse.GetValue(_public), parse.GetValue(_consolePublic)));
    }

    public sealed record Values(string? Url, string? GatewayUrl, PortalMailSettings Mail);
}

/// <summary>Where the portal's mails go, who they come from, and the public addresses their links start with (the portal's, and the console's for its invitations).</summary>
internal sealed record PortalMailSettings(string? Directory, SmtpSettings? Smtp, string? From, string? PublicUrl, string? ConsolePublicUrl = null);
