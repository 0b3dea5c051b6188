using Gatehouse.Management.Admin;

namespace Gatehouse.Management.Portal;

/// <summary>How to start the developer portal (<c>--portal-url</c>, <c>--no-portal</c>; docs/portal.md).</summary>
public sealed record PortalOptions
{
    /// <summary>The portal's listener when none is given. Loopback; put a TLS proxy in front to publish it.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8083";

    /// <summary>Where the portal listens: <c>http://ADDRESS:PORT</c> (port 0 picks a free one). Default <see cref="DefaultUrl"/>.</summary>
    public string Url { get; init; } = DefaultUrl;

    /// <summary>The gateway's public base URL: the <c>servers</c> entry of the plans' documents, and where "try it" sends requests. Required.</summary>
    public required string GatewayUrl { get; init; }

    /// <summary>The admin API this portal shares its store, config and consumer service with (same process). Required.</summary>
    public required AdminApi Admin { get; init; }

    /// <summary>
    /// Folder where password-reset mails are written as <c>.eml</c> files (a pickup directory an MTA or a person
    /// reads). Null: password reset answers as usual and sends nothing (there is no way to reach the user).
    /// </summary>
    public string? MailDirectory { get; init; }

    /// <summary>An SMTP server the portal's mails go through (<c>--portal-smtp</c>), in place of <see cref="MailDirectory"/>.</summary>
    public SmtpSettings? Smtp { get; init; }

    /// <summary>The address mails come from (<c>--portal-mail-from</c>); required with <see cref="Smtp"/>.</summary>
    public string? MailFrom { get; init; }

    /// <summary>
    /// The portal's address as users reach it (<c>--portal-public-url</c>, an origin such as <c>https://portal.example.com</c>):
    /// links in mails start with it, never with a request's <c>Host</c> header, which whoever asks for a reset chooses.
    /// Null: the listener's own address when it is loopback; required with mail on any other listener.
    /// </summary>
    public string? PublicUrl { get; init; }

    /// <summary>Signing up and in with an OpenID Connect provider (<c>--portal-oidc-*</c>); null: email and password only.</summary>
    public Web.SingleSignOnOptions? Sso { get; init; }

    /// <summary>Where consumers' OAuth clients are registered (<c>--portal-oauth-issuer</c>); null: only administrators give applications client ids.</summary>
    public OAuthRegistrationOptions? OAuthClients { get; init; }

    /// <summary>The handler the portal reaches the OAuth provider through; null: its own.</summary>
    internal HttpMessageHandler? OAuthHandler { get; init; }

    /// <summary>The most mails one address gets in an hour (resets, sign-up links and notes together). Default 5.</summary>
    internal int MailPerRecipientPerHour { get; init; } = PortalMail.DefaultPerRecipientPerHour;

    /// <summary>The pauses between attempts at one SMTP message. Default <see cref="PortalMail.DefaultRetryDelays"/>.</summary>
    internal IReadOnlyList<TimeSpan>? MailRetryDelays { get; init; }

    /// <summary>The clock of sessions, login throttling and reset tokens. Default: the system clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
