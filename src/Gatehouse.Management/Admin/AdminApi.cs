using System.Net;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Nodes;
using Gatehouse.Management.Registrations;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Admin;

/// <summary>
/// The admin API: minimal APIs on their own Kestrel listener (never the gateway's public port), every request
/// authenticated with the admin bearer token, every change validated like a config file, committed to the store
/// and handed to the gateway. See docs/admin-api.md.
/// </summary>
public sealed partial class AdminApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RevisionFollower? _follower;

    private AdminApi(WebApplication app, string url, ConfigChanges changes, ConsumerService consumers, AdminApiOptions options, RevisionFollower? follower, Analytics.ConsumerUsage? usage)
    {
        _app = app;
        ConsumerUsage = usage;
        _follower = follower;
        Url = url;
        Changes = changes;
        ConsumerService = consumers;
        Options = options;
    }

    /// <summary>The one path of config changes; the console calls it too.</summary>
    internal ConfigChanges Changes { get; }

    /// <summary>The one place of consumer rules; the portal and the console call it too.</summary>
    internal ConsumerService ConsumerService { get; }

    internal AdminApiOptions Options { get; }

    /// <summary>
    /// One application's usage report (days from the store's rollups, limits from this process's gateway); null when the
    /// store keeps no usage. The admin API's, the console's and the portal's application views all read it.
    /// </summary>
    internal Analytics.ConsumerUsage? ConsumerUsage { get; }

    /// <summary>Every endpoint this API maps (for the test that the OpenAPI document describes each one).</summary>
    internal IEnumerable<Microsoft.AspNetCore.Http.Endpoint> Endpoints => ((Microsoft.AspNetCore.Routing.IEndpointRouteBuilder)_app).DataSources.SelectMany(d => d.Endpoints);

    /// <summary>The address actually bound (port 0 resolved), e.g. <c>http://127.0.0.1:8081</c>.</summary>
    public string Url { get; }

    /// <summary>Starts listening on <see cref="AdminApiOptions.Url"/>.</summary>
    public static async Task<AdminApi> StartAsync(AdminApiOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var expected = Convert.FromHexString(options.TokenSha256);
        var endpoint = ParseUrl(options.Url);
        if (options.PublicUrl is { } publicUrl)
        {
            options = options with { PublicUrl = Portal.PortalHost.ParsePublicUrl(publicUrl, "--console-public-url") };
        }

        if (options.Sso is { } sso)
        {
            options = options with { Sso = Web.SingleSignOnOptions.Checked(sso) };
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production, Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // A port taken is thrown to the caller, which says so in one line; the host's own report of it is a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        // "No XML encryptor configured" at the first start: the cookie-signing keys are kept in the store unencrypted on
        // purpose (every node must read them; docs/portal.md says what that means), so the warning says nothing to act on.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager", LogLevel.Error);
        options.ConfigureLogging?.Invoke(builder.Logging);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<ConfigChanges>();
        // The console's sessions and antiforgery (cookies scoped to /console), keys kept in the store.
        Portal.PortalHost.AddWebServices(builder.Services, options.Store, "console", Console.ConsoleEndpoints.Scheme, "/console/login", options.Time);
        builder.Services.AddOptions<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions>(Console.ConsoleEndpoints.Scheme)
            .Configure(o => o.Events.OnValidatePrincipal = Console.ConsoleEndpoints.SessionValidator(options.Store, expected));
        if (options.Sso is { } checkedSso)
        {
            builder.Services.AddAuthentication()
                .AddCookie(Console.ConsoleEndpoints.SsoAnswerScheme, o => Web.SingleSignOnOptions.ConfigureAnswer(o, "gatehouse.console.sso", "/console"))
                .AddOpenIdConnect(Console.ConsoleEndpoints.SsoScheme, o => checkedSso.Configure(o, "/console", Console.ConsoleEndpoints.SsoAnswerScheme,
                    Console.ConsoleEndpoints.Origin, Console.ConsoleEndpoints.SsoFailedAsync));
        }

        builder.Services.AddSingleton(services => new Web.TwoStepKeys(
            services.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(), options.Time, "Console"));
        // Admin requests block (SQLite calls, config loading), so they must never run on the socket I/O threads that
        // the gateway's listeners may be using inline (DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS, see Program.cs).
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = false);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // The limit is counted by AdminRequests, which can answer 413 as a problem; Kestrel's own would abort reads.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(endpoint);
        });

        var app = builder.Build();
        var health = options.Health ?? new StoreHealth(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Store"), options.Time);
        app.Use((context, next) => AnswerFailuresAsync(context, next, health, app.Logger));
        // Load balancers and orchestrators probe these without a token; they say nothing but "up" and "ready".
        app.Use((context, next) => context.Request.Path.Value switch
        {
            "/live" when HttpMethods.IsGet(context.Request.Method) => Plain(context, StatusCodes.Status200OK, "live\n"),
            "/ready" when HttpMethods.IsGet(context.Request.Method) => options.Ready?.Invoke() == false
                ? Plain(context, StatusCodes.Status503ServiceUnavailable, "draining\n")
                : Plain(context, StatusCodes.Status200OK, "ready\n"),
            _ => next(context),
        });
        var changes = app.Services.GetRequiredService<ConfigChanges>();
        var trustedProxies = await Web.TrustedForwardedHeaders.ReadAsync(changes.CurrentConfigAsync, cancellationToken).ConfigureAwait(false);
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/console"), console =>
        {
            // As in the portal: behind a TLS-terminating proxy (on this machine, or in gateway.trustedProxies) the console's
            // session and antiforgery cookies are marked Secure, and sign-in limits count the client's address, not the proxy's.
            Web.TrustedForwardedHeaders.Use(console, changes.CurrentConfigAsync, options.Time, app.Services.GetRequiredService<ILoggerFactory>(), trustedProxies);
            console.UseWebSecurityHeaders(_ => false);
            console.UseAuthentication();
            console.Use((context, next) => Console.ConsoleEndpoints.RequireTwoStepAsync(context, () => next(context)));
        });
        app.Use(async (context, next) =>
        {
            // Registration PUT and DELETE also take a service's registration token; their endpoints check whichever came
            // (a named write token among them). The console (/console) signs its users in with a session cookie instead
            // (Console/ConsoleEndpoints.cs).
            var authorization = context.Request.Headers.Authorization.ToString();
            if (AdminToken.Matches(authorization, expected) || RegistrationEndpoints.TakesServiceTokens(context.Request) || context.Request.Path.StartsWithSegments("/console"))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            var (named, expired) = await AdminToken.FindNamedAsync(options.Store, authorization, options.Time, context.RequestAborted).ConfigureAwait(false);
            if (named is null)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"gatehouse-admin\"";
                await new AdminProblem(
                    StatusCodes.Status401Unauthorized,
                    "admin-unauthorized",
                    "Admin token required",
                    expired is { } token
                        ? $"The token '{token.Name}' expired at {token.ExpiresAt:u}; ask for a new one (POST /admin/tokens with the admin token)."
                        : "Send the admin token as 'Authorization: Bearer TOKEN' (set with GATEHOUSE_ADMIN_TOKEN, or printed once when Gatehouse generated it), or a token issued with POST /admin/tokens.")
                    .WriteAsync(context).ConfigureAwait(false);
                return;
            }

            if (AdminCaller.Refusal(context.Request, named) is { } refusal)
            {
                await refusal.WriteAsync(context).ConfigureAwait(false);
                return;
            }

            AdminCaller.Set(context, named);
            await next(context).ConfigureAwait(false);
        });

        var consumers = new ConsumerService(options.Store, options.Consumers, changes.CurrentConfigAsync, options.Time);
        var analytics = options.Store is Stores.IUsageStore usageStore ? new Analytics.UsageAnalytics(usageStore) : null;
        var usage = analytics is null ? null : new Analytics.ConsumerUsage(analytics, options.Limits);
        Console.ConsoleEndpoints.Map(app, new Console.ConsoleEndpoints.ConsoleContext(changes, consumers, options, usage), expected);
        AdminUserEndpoints.Map(app, consumers, options);
        PortalAdminEndpoints.Map(app, consumers, options);
        ResourceEndpoints.Map(app, changes, options);
        KeyEndpoints.Map(app, changes, options);
        RevisionEndpoints.Map(app, changes);
        ConfigEndpoints.Map(app, changes, options);
        ApprovalEndpoints.Map(app, changes);
        CacheEndpoints.Map(app, options);
        NodeEndpoints.Map(app, options);
        AdminTokenEndpoints.Map(app, options);
        RegistrationEndpoints.Map(app, options, changes, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Registrations"));
        if (options.Drain is { } drain)
        {
            app.MapPost("/admin/drain", context =>
            {
                drain();
                context.Response.StatusCode = StatusCodes.Status202Accepted;
                return Task.CompletedTask;
            });
        }

        Analytics.AnalyticsEndpoints.Map(app, options, analytics, usage);
        app.MapGet("/admin/openapi.json", context => AdminRequests.WriteJsonAsync(context, AdminOpenApi.Document($"{context.Request.Scheme}://{context.Request.Host}")));
        app.MapGet("/admin/schema.json", context =>
        {
            context.Response.ContentType = "application/schema+json";
            return context.Response.WriteAsync(Gatehouse.Model.Schema.ConfigSchema.Published, context.RequestAborted);
        });
        app.MapFallback(context => new AdminProblem(
            StatusCodes.Status404NotFound,
            "admin-not-found",
            "Not found",
            $"The admin API has no {context.Request.Method} {context.Request.Path}; GET /admin/openapi.json lists what it has.").WriteAsync(context));

        try
        {
            await Web.KeyRingStart.StartAsync(app, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _ = changes.WarmAsync(app.Lifetime.ApplicationStopping);
        RevisionFollower? follower = null;
        if (options.Apply is not null && options.FollowInterval != Timeout.InfiniteTimeSpan)
        {
            follower = new RevisionFollower(changes, options.FollowInterval, health, TimeProvider.System);
            follower.Start();
        }

        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? options.Url;
        return new AdminApi(app, url, changes, consumers, options, follower, usage);
    }

    private static Task Plain(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(text);
    }

    /// <summary>
    /// An admin request that fails answers a problem, never an empty 500: 503 <c>store-unavailable</c> with
    /// <c>Retry-After</c> when the store did not answer, 500 <c>admin-internal-error</c> otherwise.
    /// </summary>
    private static async Task AnswerFailuresAsync(HttpContext context, RequestDelegate next, StoreHealth health, ILogger logger)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreHealth.IsStoreFailure(e) && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            health.Failed(e);
            var retry = health.RetryAfterSeconds;
            context.Response.Clear();
            context.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await new AdminProblem(
                StatusCodes.Status503ServiceUnavailable,
                "store-unavailable",
                "Store unavailable",
                $"The configuration store did not answer ({StoreHealth.Reason(e)}), so nothing was read or changed; the gateway keeps serving what it has. Try again in {Model.Text.Plural.Count(retry, "second")}.")
                .WriteAsync(context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException && !context.Response.HasStarted)
        {
            LogRequestFailed(logger, context.Request.Method, context.Request.Path.Value ?? "", e);
            context.Response.Clear();
            await new AdminProblem(
                StatusCodes.Status500InternalServerError,
                "admin-internal-error",
                "Internal error",
                "The admin API failed to handle this request; the log of this node has the details. Nothing that was not committed changed.")
                .WriteAsync(context).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Admin request {Method} {Path} failed")]
    private static partial void LogRequestFailed(ILogger logger, string method, string path, Exception exception);

    private static IPEndPoint ParseUrl(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException($"The admin URL '{url}' is not http://ADDRESS:PORT (for example {AdminApiOptions.DefaultUrl}).", nameof(url));
        }

        var address = uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns ? IPAddress.Loopback
            : IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) ? ip
            : throw new ArgumentException($"The admin URL '{url}' must name an IP address or localhost.", nameof(url));
        return new IPEndPoint(address, uri.Port);
    }

    public async ValueTask DisposeAsync()
    {
        if (_follower is not null)
        {
            await _follower.DisposeAsync().ConfigureAwait(false);
        }

        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
