using System.CommandLine;
using Gatehouse.Management.Portal;

namespace Gatehouse.Cli.Commands;

/// <summary>The portal's command-line options, shared by <c>run --store</c> and <c>demo</c>.</summary>
internal sealed class PortalOptionSet
{
    private readonly Option<string?> _url = new("--portal-url") { Description = $"Where the developer portal listens (default {PortalOptions.DefaultUrl})." };
    private readonly Option<bool> _off = new("--no-portal") { Description = "Do not start the developer portal." };
    private readonly Option<string?> _gateway = new("--portal-gateway-url") { Description = "The gateway's public URL, as the portal's API documents and try-it use it (default: the gateway's first listener)." };
    private readonly Option<string?> _mail = new("--portal-mail-dir") { Description = "Folder where the portal writes its mails (password resets) as .eml files; without it, no mail is sent." };

    public static PortalOptionSet Create() => new();

    public void AddTo(Command command)
    {
        command.Options.Add(_url);
        command.Options.Add(_off);
        command.Options.Add(_gateway);
        command.Options.Add(_mail);
    }

    /// <summary>The chosen values; <c>Url</c> is null when the portal is off.</summary>
    public Values Read(ParseResult parse, string defaultUrl) =>
        new(parse.GetValue(_off) ? null : parse.GetValue(_url) ?? defaultUrl, parse.GetValue(_gateway), parse.GetValue(_mail));

    public sealed record Values(string? Url, string? GatewayUrl, string? MailDirectory);
}
