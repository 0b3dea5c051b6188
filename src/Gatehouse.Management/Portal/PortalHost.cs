using System.Net;
using System.Security.Claims;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Management.Portal;

/// <summary>
/// The developer portal: its own Kestrel listener, server-rendered pages (Razor components, static SSR) that work
/// without JavaScript, cookie sessions, antiforgery on every form, a strict Content-Security-Policy. Pages are thin:
/// they call <see cref="Consumers.ConsumerService"/>, the same code as the admin API. See docs/portal.md.
/// </summary>
public sealed partial class PortalHost : IAsyncDisposable
{
    internal const string Scheme = "portal";

    private readonly WebApplication _app;
    private readonly PortalMail _mail;
    private readonly PortalJobs _jobs;
    private readonly CancellationTokenSource _stop = new();
    private Task _sweep = Task.CompletedTask;
    private Task _digest = Task.CompletedTask;
    private Task _reminders = Task.CompletedTask;
    private Task _oauthSweep = Task.CompletedTask;
    private Consumers.ConsumerService? _notified;

    private PortalHost(WebApplication app, string url, PortalMail mail, PortalJobs jobs)
    {
        _app = app;
        Url = url;
        _mail = mail;
        _jobs = jobs;
    }

    /// <summary>The address actually bound (port 0 resolved).</summary>
    public string Url { get; }

    /// <summary>Consumers' OAuth clients at the provider (<see cref="PortalOptions.OAuthClients"/>); null without one.</summary>
    internal OAuthClients? OAuthClients { get; private init; }

    public static async Task<PortalHost> StartAsync(PortalOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var endpoint = ParseUrl(options.Url);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production, Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // A listener that cannot bind throws to the caller, which says so in one line; the host's own log of it is a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        // "No XML encryptor configured" at the first start: the cookie-signing keys are kept in the store unencrypted on
        // purpose (every node must read them; docs/portal.md says what that means), so the warning says nothing to act on.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager", LogLevel.Error);
        options.Admin.Options.ConfigureLogging?.Invoke(builder.Logging);
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = false);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = WebForms.MaxFormBytes * 64L;
            kestrel.Listen(endpoint);
        });
        builder.Services.AddSingleton(options.Time);
        builder.Services.AddSingleton<PortalApiEndpoints.TokenFailures>();
        // Several control nodes share a PostgreSQL store, which is a counter engine: try it counts across them in it.
        builder.Services.AddSingleton(services => new TryItLimits(options.Admin.Options.Store as Model.Limits.ILimitEngine, options.Time,
            services.GetRequiredService<ILogger<TryItLimits>>()));
        AddWebServices(builder.Services, options.Admin.Options.Store, "portal", Scheme, "/login", options.Time);
        builder.Services.AddOptions<CookieAuthenticationOptions>(Scheme).Configure(o => o.Events.OnValidatePrincipal = context => ValidateAsync(context, options.Admin));

        var publicUrl = options.PublicUrl is null ? null : ParsePublicUrl(options.PublicUrl);
        var links = new PortalLinks { Base = publicUrl };
        if (options.Sso is { } sso)
        {
            options = options with { Sso = sso = Web.SingleSignOnOptions.Checked(sso) };
            builder.Services.AddSingleton(new PortalSsoOptions(sso));
            builder.Services.AddAuthentication()
                .AddCookie(PortalEndpoints.SsoAnswerScheme, o => Web.SingleSignOnOptions.ConfigureAnswer(o, "gatehouse.portal.sso", ""))
                .AddOpenIdConnect(PortalEndpoints.SsoScheme, o => sso.Configure(o, "", PortalEndpoints.SsoAnswerScheme,
                    context => publicUrl ?? WebForms.ConnectionOrigin(context), PortalEndpoints.SsoFailedAsync));
        }

        if (publicUrl is null && (options.MailDirectory is not null || options.Smtp is not null) && !IPAddress.IsLoopback(endpoint.Address))
        {
            throw new ArgumentException($"The portal listens on {options.Url} and sends mail, so it needs --portal-public-url, its address as users reach it (for example https://portal.example.com): links in mails are built from that, never from a request's Host header.");
        }

        var app = builder.Build();
        PortalMail mail;
        try
        {
            mail = new PortalMail(options.MailDirectory, options.Smtp, options.MailFrom, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Portal.Mail"), options.Time, options.MailRetryDelays, options.MailPerRecipientPerHour, options.Admin.Options.Store);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        // Behind a TLS-terminating proxy (on this machine, or in gateway.trustedProxies) the request counts as HTTPS, so
        // session and antiforgery cookies are marked Secure, and the limits per client address count the client's.
        var configOf = options.Admin.Changes.CurrentConfigAsync;
        Web.TrustedForwardedHeaders.Use(app, configOf, options.Time, app.Services.GetRequiredService<ILoggerFactory>(),
            await Web.TrustedForwardedHeaders.ReadAsync(configOf, cancellationToken).ConfigureAwait(false));
        app.UseWebSecurityHeaders(path => path.StartsWithSegments("/plans") && path.Value!.EndsWith("/docs", StringComparison.Ordinal));
        app.UseAuthentication();
        WebAssets.Map(app, "/assets", "site.css", "portal.js", "docs.js");
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Portal");
        var jobs = new PortalJobs(logger);
        var twoStep = new TwoStepKeys(app.Services.GetRequiredService<IDataProtectionProvider>(), options.Time, "Portal");
        var oauth = options.OAuthClients is { } registration
            ? new OAuthClients(OAuthRegistrationOptions.Checked(registration), app.Services.GetRequiredService<IDataProtectionProvider>(), options.Admin.ConsumerService,
                app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Portal.OAuth"), options.OAuthHandler)
            : null;
        var context = new PortalContext(options, options.Admin.ConsumerService, new PlanDocuments(options.GatewayUrl), mail, links, logger, jobs, twoStep,
            app.Services.GetRequiredService<TryItLimits>(), oauth);
        PortalEndpoints.Map(app, context);
        PortalApiEndpoints.Map(app, context, app.Services.GetRequiredService<PortalApiEndpoints.TokenFailures>());
        try
        {
            await Web.KeyRingStart.StartAsync(app, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            oauth?.Dispose();
            await jobs.DisposeAsync().ConfigureAwait(false);
            await mail.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? options.Url;
        links.Base ??= url.TrimEnd('/');
        var host = new PortalHost(app, url, mail, jobs) { OAuthClients = oauth };
        if (mail.Enabled)
        {
            // Administrators' decisions reach the consumers while this portal runs (its mail is the only way to them).
            host._notified = options.Admin.ConsumerService;
            var digest = new PendingDigest(options.Admin.Options.Store, mail, links, options.Admin.Url, options.Time, logger);
            host._digest = Task.Run(() => digest.RunAsync(host._stop.Token), CancellationToken.None);
            host.Reminders = new ExpiryReminders(options.Admin.Options.Store, mail, links, options.Time, logger);
            var reminders = host.Reminders;
            host._reminders = Task.Run(() => reminders.RunAsync(host._stop.Token), CancellationToken.None);
            host._notified.Notify = notice =>
            {
                if (notice.Kind is Consumers.ConsumerNoticeKind.AccountPending or Consumers.ConsumerNoticeKind.ApplicationPending)
                {
                    digest.Poke();
                    return;
                }

                Tell(mail, links, notice);
            };
        }

        host._sweep = Task.Run(() => SweepAsync(options.Admin.ConsumerService, options.Time, logger, host._stop.Token), CancellationToken.None);
        if (oauth is not null)
        {
            host._oauthSweep = Task.Run(() => SweepOAuthClientsAsync(oauth, options.Time, logger, host._stop.Token), CancellationToken.None);
        }

        return host;
    }

    /// <summary>
    /// Sessions and antiforgery for a site: cookies HttpOnly, SameSite=Lax, Secure when the request is HTTPS, signed with
    /// keys kept in the store (so every node accepts them and a restart keeps sessions).
    /// </summary>
    internal static void AddWebServices(IServiceCollection services, Stores.IConfigStore store, string site, string scheme, string loginPath, TimeProvider time)
    {
        services.AddRazorComponents();
        services.AddDataProtection().SetApplicationName("gatehouse-" + site);
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(new ConfigureOptions<KeyManagementOptions>(o =>
            o.XmlRepository = new StoreKeyRepository(store, $"{site}.dataprotection.keys")));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = $"gatehouse.{site}.csrf";
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = WebPage.CsrfField;
        });
        services.AddAuthentication(scheme).AddCookie(scheme, o =>
        {
            o.Cookie.Name = $"gatehouse.{site}";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.Path = site == "console" ? "/console" : "/";
            o.LoginPath = loginPath;
            // A sign-in at the login path would otherwise send the browser to the request's returnUrl itself, under a
            // looser check than WebForms.ReturnUrl (any path with one leading slash: a Unicode line separator in it
            // made a 500). The sign-in pages choose where to go, with that check, and say it themselves.
            o.Events.OnRedirectToReturnUrl = _ => Task.CompletedTask;
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            o.SlidingExpiration = true;
            o.TimeProvider = time;
        });
        services.AddAuthorization();
    }

    // A session lasts while its account exists, is not suspended and keeps the stamp it was made with (a password
    // reset or a suspension changes the stamp, ending every session).
    private static async Task ValidateAsync(CookieValidatePrincipalContext context, AdminApi admin)
    {
        var id = context.Principal?.FindFirstValue(ClaimTypes.NameIdentifier);
        var stamp = context.Principal?.FindFirstValue("stamp");
        var account = id is null ? null : await admin.ConsumerService.Store.GetAccountAsync(id, context.HttpContext.RequestAborted).ConfigureAwait(false);
        if (account is null || account.Stamp != stamp || account.State == Consumers.AccountState.Suspended)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme).ConfigureAwait(false);
        }
    }

    // An administrator's decision, in words, to the consumer it concerns (queued: never waits for the mail server).
    private static void Tell(PortalMail mail, PortalLinks links, Consumers.ConsumerNotice notice)
    {
        notice = notice with { Application = PendingDigest.OneLine(notice.Application) };
        var site = links.Base ?? "the developer portal";
        var (subject, text) = notice.Kind switch
        {
            Consumers.ConsumerNoticeKind.AccountApproved => ("Your developer portal account is approved",
                $"Your account at {site} is approved: you may now create applications and get keys.\n\n{site}/apps\n"),
            Consumers.ConsumerNoticeKind.AccountRejected => ("Your developer portal sign-up was not approved",
                $"Your sign-up at {site} was not approved, so the account cannot create applications. Write to the portal's operators if you think this is a mistake.\n"),
            Consumers.ConsumerNoticeKind.ApplicationApproved => ($"Your application {notice.Application} is approved",
                $"Your application \"{notice.Application}\" on the plan {notice.Plan} at {site} is approved: its key works now.\n\n{site}/apps\n"),
            Consumers.ConsumerNoticeKind.ApplicationRejected => ($"Your application {notice.Application} was not approved",
                $"Your application \"{notice.Application}\" on the plan {notice.Plan} at {site} was not approved: its key does not work. You may ask for another plan, or write to the portal's operators.\n"),
            Consumers.ConsumerNoticeKind.AddressChanged => ("Your developer portal address was changed",
                $"The portal's operators changed the address of your developer portal account at {site} to {notice.NewEmail}; mail about it now goes there.\n\nIf you did not ask them to, write to them at once.\n"),
            Consumers.ConsumerNoticeKind.ConsoleInvite => ("You are invited to the Gatehouse console",
                $"An administrator of the Gatehouse console (beside the developer portal at {site}) has made you a console user.\n\nChoose your password within 7 days at:\n{notice.Link}\n\nThe link works once. If you did not expect this, ignore it.\n"),
            Consumers.ConsumerNoticeKind.ConsoleInviteSso => ("You are invited to the Gatehouse console",
                $"An administrator of the Gatehouse console (beside the developer portal at {site}) has made you a console user.\n\nSign in with {notice.Provider} at:\n{notice.Link}\n\nIf you did not expect this, ignore it.\n"),
            Consumers.ConsumerNoticeKind.ConsoleReset => ("Choose a new Gatehouse console password",
                $"Someone, most likely you, asked for a new password for your Gatehouse console user.\n\nChoose it within 30 minutes at:\n{notice.Link}\n\nThe link works once. If it was not you, ignore this mail: nothing changes until the link is used.\n"),
            _ => (null, null), // pending items go to the administrators' digest
        };
        if (subject is not null)
        {
            mail.Send(notice.Email, subject, text!);
        }
    }

    /// <summary>The reminders of keys and tokens about to expire; null when the portal sends no mail.</summary>
    internal ExpiryReminders? Reminders { get; private set; }

    /// <summary>Mails the portal has sent, failed and dropped (for tests and the operator's checks).</summary>
    internal PortalMail Mail => _mail;

    // An origin: the portal's pages link from the root, so a path under it would not work anyway.
    internal static string ParsePublicUrl(string url, string option = "--portal-public-url")
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            throw new ArgumentException($"{option} '{url}' is not an origin such as https://{(option.Contains("console", StringComparison.Ordinal) ? "admin" : "portal")}.example.com (a scheme, a host and a port, no path).");
        }

        return uri.GetLeftPart(UriPartial.Authority);
    }

    internal static IPEndPoint ParseUrl(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException($"The portal URL '{url}' is not http://ADDRESS:PORT (for example {PortalOptions.DefaultUrl}).", nameof(url));
        }

        var address = uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns ? IPAddress.Loopback
            : IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) ? ip
            : throw new ArgumentException($"The portal URL '{url}' must name an IP address or localhost.", nameof(url));
        return new IPEndPoint(address, uri.Port);
    }

    // Every hour (and at start): unconfirmed accounts past their time go (ConsumerService.SweepUnverifiedAsync).
    private static Task SweepAsync(Consumers.ConsumerService consumers, TimeProvider time, ILogger logger, CancellationToken stop) =>
        EveryAsync(TimeSpan.FromHours(1), time, logger, stop, async () =>
        {
            if (await consumers.SweepUnverifiedAsync(stop).ConfigureAwait(false) is > 0 and var removed)
            {
                LogSwept(logger, removed, (int)Consumers.ConsumerService.UnverifiedLifetime.TotalDays);
            }
        });

    // Every minute: OAuth clients the portal registered that no application holds any more are deleted at the provider.
    private static Task SweepOAuthClientsAsync(OAuthClients oauth, TimeProvider time, ILogger logger, CancellationToken stop) =>
        EveryAsync(TimeSpan.FromMinutes(1), time, logger, stop, async () =>
        {
            if (await oauth.SweepAsync(stop).ConfigureAwait(false) is > 0 and var deleted)
            {
                LogOAuthSwept(logger, deleted);
            }
        });

    // Runs `round` now and then every `interval` until `stop`; a round the store fails is logged and tried again at the next.
    private static async Task EveryAsync(TimeSpan interval, TimeProvider time, ILogger logger, CancellationToken stop, Func<Task> round)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await round().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is System.Data.Common.DbException or Stores.ConfigStoreException or TimeoutException or IOException)
            {
                LogSweepFailed(logger, e.Message);
            }

            try
            {
                await Task.Delay(interval, time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} OAuth clients at the provider that no application holds any more")]
    private static partial void LogOAuthSwept(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} accounts whose address was not confirmed within {Days} days")]
    private static partial void LogSwept(ILogger logger, int count, int days);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A sweep of the portal's store failed ({Reason}); trying again at its next round")]
    private static partial void LogSweepFailed(ILogger logger, string reason);

    public async ValueTask DisposeAsync()
    {
        _notified?.Notify = null;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _sweep.ConfigureAwait(false);
        await _digest.ConfigureAwait(false);
        await _reminders.ConfigureAwait(false);
        await _oauthSweep.ConfigureAwait(false);
        OAuthClients?.Dispose();
        _stop.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        // The jobs first: they queue mail.
        await _jobs.DisposeAsync().ConfigureAwait(false);
        await _mail.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>What the portal's endpoints share.</summary>
internal sealed record PortalContext(PortalOptions Options, Consumers.ConsumerService Consumers, PlanDocuments Documents, PortalMail Mail, PortalLinks Links, ILogger Logger, PortalJobs Jobs,
    TwoStepKeys TwoStep, TryItLimits TryIt, OAuthClients? OAuth = null);

/// <summary>Where links in the portal's mails point: the public URL, or the listener's address once it is bound.</summary>
internal sealed class PortalLinks
{
    public string? Base { get; set; }
}
