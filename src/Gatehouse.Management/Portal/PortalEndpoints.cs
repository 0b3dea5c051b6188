using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Portal.Pages;
using Gatehouse.Management.Web;
using Gatehouse.Model.Access;
using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;
using Gatehouse.Model.Plans;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Portal;

/// <summary>The portal's pages and forms. Each handler reads its input, calls <see cref="ConsumerService"/>, renders a page.</summary>
internal static partial class PortalEndpoints
{
    private const string ResetPurpose = "password-reset";
    private const string VerifyPurpose = "verify-email";
    private static readonly TimeSpan ResetLifetime = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan VerifyLifetime = TimeSpan.FromHours(24);

    public static void Map(IEndpointRouteBuilder app, PortalContext portal)
    {
        app.MapGet("/", context => CatalogueAsync(context, portal));
        app.MapGet("/plans/{plan}", context => PlanAsync(context, portal, Route(context, "plan")));
        app.MapGet("/plans/{plan}/docs", context => DocsAsync(context, portal, Route(context, "plan")));
        app.MapGet("/plans/{plan}/openapi.json", context => DocumentAsync(context, portal, Route(context, "plan"), yaml: false));
        app.MapGet("/plans/{plan}/openapi.yaml", context => DocumentAsync(context, portal, Route(context, "plan"), yaml: true));
        app.MapGet("/signup", context => WebRender.PageAsync<SignUp>(context, new { Page = Page(context, "Sign up") }));
        app.MapPost("/signup", context => Passwords(context, portal, () => SignUpAsync(context, portal)));
        app.MapGet("/login", context => WebRender.PageAsync<LogIn>(context, new { Page = Page(context, "Sign in"), Action = LogInAction(context) }));
        app.MapPost("/login", context => Passwords(context, portal, () => LogInAsync(context, portal)));
        app.MapPost("/logout", context => LogOutAsync(context, portal));
        MapSso(app, portal);
        app.MapGet("/reset", context => Passwords(context, portal, () => WebRender.PageAsync<ResetRequest>(context, new { Page = Page(context, "Reset your password") })));
        app.MapPost("/reset", context => Passwords(context, portal, () => ResetRequestAsync(context, portal)));
        app.MapGet("/reset/{token}", context => Passwords(context, portal, () => WebRender.PageAsync<ResetRequest>(context, new { Page = Page(context, "Choose a new password"), Token = Route(context, "token") })));
        app.MapPost("/reset/{token}", context => Passwords(context, portal, () => ResetAsync(context, portal, Route(context, "token"))));
        app.MapGet("/verify/{token}", context => WebRender.PageAsync<Confirm>(context, new { Page = Page(context, "Confirm your address"), Token = Route(context, "token") }));
        app.MapPost("/verify/{token}", context => ConfirmAsync(context, portal, Route(context, "token")));
        MapApplications(app, portal);
        MapTokens(app, portal);
        MapAccount(app, portal);
        MapTwoStep(app, portal);
        app.Map("/try", context => TryAsync(context, portal));
        app.MapFallback(context => WebRender.ProblemAsync(context, Page(context, "Not found"), StatusCodes.Status404NotFound, "There is no such page."));
    }

    // Try it for a signed-in consumer only: for anyone, the portal would be an open relay to the gateway, which sees
    // the portal's address (and past IP filters that trust it, the address the relay passed on).
    private static async Task TryAsync(HttpContext context, PortalContext portal)
    {
        var id = context.User.FindFirstValue(ClaimTypes.NameIdentifier);
        if (id is null || await portal.Consumers.Store.GetAccountAsync(id, context.RequestAborted).ConfigureAwait(false) is null)
        {
            await new AdminProblem(StatusCodes.Status401Unauthorized, "try-sign-in", "Sign in first",
                $"Try it sends requests for consumers signed in to the portal: sign in (/login), or call the gateway ({portal.Options.GatewayUrl}) yourself.").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        await TryItProxy.ForwardAsync(context, portal.Options.GatewayUrl, () => TryItAdmittedAsync(context, portal, id)).ConfigureAwait(false);
    }

    // Each account's calls to the gateway are counted (portal.tryItPerMinute), or one signed-in script could drive the
    // gateway as hard as it liked from the portal's address. False: refused, with 429 and when to come back.
    private static async Task<bool> TryItAdmittedAsync(HttpContext context, PortalContext portal, string account)
    {
        var perMinute = await portal.Consumers.TryItPerMinuteAsync(context.RequestAborted).ConfigureAwait(false);
        if (await portal.TryIt.RefuseAsync(account, perMinute, context.RequestAborted).ConfigureAwait(false) is not { } wait)
        {
            return true;
        }

        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await new AdminProblem(StatusCodes.Status429TooManyRequests, "try-too-many", "Too many try-it calls",
            string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Try it sends at most {perMinute} calls a minute for one account; send the next in {seconds} seconds, or call the gateway ({portal.Options.GatewayUrl}) with your key yourself.")).WriteAsync(context).ConfigureAwait(false);
        return false;
    }

    internal static string Route(HttpContext context, string name) => (string)context.Request.RouteValues[name]!;

    internal static WebPage Page(HttpContext context, string title, string? notice = null) =>
        new("portal", title, WebForms.Token(context), WebPage.Claim(context.User, ClaimTypes.Email), null, notice) { Here = Here(context) };

    private static readonly string[] SignInPages = ["/login", "/signup", "/reset", "/verify", "/sso"];

    // The page a sign-in link brings back to, query and all (/plans/retail?x=1): a page read with GET, other than the
    // home page (where a sign-in goes anyway) and the pages of signing up and in themselves.
    private static string? Here(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        return HttpMethods.IsGet(context.Request.Method) && path != "/"
            && !SignInPages.Any(p => path == p || path.StartsWith(p + "/", StringComparison.Ordinal))
            ? context.Request.PathBase + context.Request.Path + context.Request.QueryString
            : null;
    }

    private static async Task CatalogueAsync(HttpContext context, PortalContext portal)
    {
        var config = await portal.Consumers.ConfigAsync(context.RequestAborted).ConfigureAwait(false) ?? new GatehouseConfig();
        var plans = Listed(config).ToList();
        var apis = config.Services
            .Select(s => (Api: s.Key, Operations: s.Value.Operations.Keys.Count(id => plans.Any(p => p.Operations.Any(o => o.Id == id)))))
            .Where(a => a.Operations > 0)
            .ToList();
        await WebRender.PageAsync<Catalogue>(context, new { Page = Page(context, "APIs and plans"), Plans = plans.Select(p => p.Summary).ToList(), Apis = apis }).ConfigureAwait(false);
    }

    private static IEnumerable<(PlanSummary Summary, IReadOnlyList<PlanOperation> Operations)> Listed(GatehouseConfig config) =>
        config.Plans.Where(p => !p.Value.Hidden).Select(p =>
        {
            var operations = PlanProjection.Of(p.Key, config);
            var models = PlanProjection.Models(p.Key, config).SelectMany(m => m.Aliases).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            return (PlanSummary.Of(p.Key, p.Value, operations) with { Models = models }, operations);
        });

    private static async Task PlanAsync(HttpContext context, PortalContext portal, string plan)
    {
        var config = await portal.Consumers.ConfigAsync(context.RequestAborted).ConfigureAwait(false);
        if (config is null || !PlanDocuments.IsListed(config, plan))
        {
            await WebRender.ProblemAsync(context, Page(context, "Not found"), StatusCodes.Status404NotFound, "There is no such plan.").ConfigureAwait(false);
            return;
        }

        var operations = PlanProjection.Of(plan, config);
        var planConfig = config.Plans[plan];
        var summary = PlanSummary.Of(plan, planConfig, operations);
        // Limits of operations the plan grants (operationLimits may name others; they limit nothing here).
        var operationLimits = planConfig.OperationLimits
            .Where(l => operations.Any(o => o.Id == l.Key) && PlanSummary.Describe(l.Value).Length > 0)
            .OrderBy(l => l.Key, StringComparer.Ordinal)
            .Select(l => (l.Key, PlanSummary.Describe(l.Value)))
            .ToList();
        await WebRender.PageAsync<PlanPage>(context, new
        {
            Page = Page(context, $"Plan: {summary.Title}"),
            Plan = summary,
            Operations = operations,
            Models = PlanProjection.Models(plan, config),
            TokenLimits = PlanSummary.DescribeTokens(planConfig),
            OperationLimits = operationLimits,
            portal.Options.GatewayUrl,
            config.Gateway.Mcp,
        }).ConfigureAwait(false);
    }

    private static async Task DocsAsync(HttpContext context, PortalContext portal, string plan)
    {
        var config = await portal.Consumers.ConfigAsync(context.RequestAborted).ConfigureAwait(false);
        if (config is null || !PlanDocuments.IsListed(config, plan))
        {
            await WebRender.ProblemAsync(context, Page(context, "Not found"), StatusCodes.Status404NotFound, "There is no such plan.").ConfigureAwait(false);
            return;
        }

        var title = config.Plans[plan].Title ?? plan;
        await WebRender.PageAsync<DocsPage>(context, new { Page = Page(context, $"API reference: {title}"), Plan = plan, GatewayUrl = portal.Options.GatewayUrl }).ConfigureAwait(false);
    }

    private static async Task DocumentAsync(HttpContext context, PortalContext portal, string plan, bool yaml)
    {
        var config = await portal.Consumers.ConfigAsync(context.RequestAborted).ConfigureAwait(false);
        var document = config is null ? null : await portal.Documents.GetAsync(config, plan, context.RequestAborted).ConfigureAwait(false);
        if (document is null)
        {
            // A hidden plan is as absent as one that does not exist.
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            context.Response.ContentType = "application/problem+json";
            await context.Response.WriteAsync(
                $$"""{"type":"urn:gatehouse:problem:plan-not-found","title":"No such plan","status":404,"detail":"The portal publishes no plan with this name; GET / lists the plans."}""",
                context.RequestAborted).ConfigureAwait(false);
            return;
        }

        context.Response.Headers.CacheControl = "no-cache";
        context.Response.ContentType = yaml ? "application/yaml; charset=utf-8" : "application/json; charset=utf-8";
        await context.Response.WriteAsync(yaml ? YamlWriter.Write(document) : document.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task SignUpAsync(HttpContext context, PortalContext portal)
    {
        var page = Page(context, "Sign up");
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, page, status, error!, "/signup").ConfigureAwait(false);
            return;
        }

        if (await portal.Consumers.EmailVerificationAsync(context.RequestAborted).ConfigureAwait(false))
        {
            await SignUpUnverifiedAsync(context, portal, page, form).ConfigureAwait(false);
            return;
        }

        var problem = await portal.Consumers.SignUpAsync(form.Field("email"), form.Field("title"), form.Field("password"), context.RequestAborted).ConfigureAwait(false);
        if (problem is not null)
        {
            Busy(context, problem.Status);
            await WebRender.PageAsync<SignUp>(context, new { Page = page, Error = problem.Detail, Email = form.Field("email"), Title = form.Field("title") },
                problem.Status == StatusCodes.Status503ServiceUnavailable ? problem.Status : StatusCodes.Status422UnprocessableEntity).ConfigureAwait(false);
            return;
        }

        // The same answer whether the address was new or already had an account (which is left as it was).
        await WebRender.PageAsync<Message>(context, new
        {
            Page = page with { Title = "Thanks for signing up" },
            Text = "Your account is ready: sign in with your email and password. If this address already had an account, it is unchanged; sign in with its password or reset it.",
            Link = "/login",
            LinkText = "Sign in",
        }).ConfigureAwait(false);
    }

    // With emailVerification on: the account waits for the mailed link. The page is the same for a new address, an
    // unconfirmed one and a taken one (whose owner gets a note instead), so it tells nobody which it was.
    private static async Task SignUpUnverifiedAsync(HttpContext context, PortalContext portal, WebPage page, IFormCollection form)
    {
        if (!portal.Mail.Enabled)
        {
            LogNoMail(portal.Logger);
            Busy(context, StatusCodes.Status503ServiceUnavailable);
            await WebRender.PageAsync<SignUp>(context, new { Page = page, Error = "Sign-ups are confirmed by mail, and this portal cannot send mail at the moment; please try again later.", Email = form.Field("email"), Title = form.Field("title") },
                StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
            return;
        }

        var (problem, email, title, hash) = await portal.Consumers.CheckSignUpAsync(form.Field("email"), form.Field("title"), form.Field("password"), context.RequestAborted).ConfigureAwait(false);
        if (problem is not null)
        {
            Busy(context, problem.Status);
            await WebRender.PageAsync<SignUp>(context, new { Page = page, Error = problem.Detail, Email = form.Field("email"), Title = form.Field("title") },
                problem.Status == StatusCodes.Status503ServiceUnavailable ? problem.Status : StatusCodes.Status422UnprocessableEntity).ConfigureAwait(false);
            return;
        }

        // What differs between a new and a taken address (the store's writes, which mail) happens off the request.
        AfterResponse(context, portal, ct => RegisterUnverifiedAsync(portal, email, title, hash, ct));
        await WebRender.PageAsync<Message>(context, new
        {
            Page = page with { Title = "Check your mail" },
            Text = "A link to confirm your address and finish signing up is on its way; it works for 24 hours. If this address already has an account, it is unchanged, and we sent it a note instead.",
        }).ConfigureAwait(false);
    }

    private static async Task RegisterUnverifiedAsync(PortalContext portal, string email, string title, string hash, CancellationToken cancellationToken)
    {
        var (problem, toConfirm, existing) = await portal.Consumers.SignUpUnverifiedAsync(email, title, hash, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            LogSignUpNotStored(portal.Logger, problem.Detail);
            return;
        }

        var site = portal.Links.Base;
        if (toConfirm is not null)
        {
            var token = NewToken();
            await portal.Consumers.Store.SaveTokenAsync(ApiKeyHash.Sha256Hex(token), VerifyPurpose, toConfirm.Id, portal.Consumers.Time.GetUtcNow() + VerifyLifetime, cancellationToken).ConfigureAwait(false);
            portal.Mail.Send(toConfirm.Email, "Confirm your developer portal sign-up",
                $"Someone, most likely you, signed up for the developer portal at {site} with this address.\n\nTo confirm it and finish signing up, open this link within 24 hours and give the password you chose:\n{site}/verify/{token}\n\nIf it was not you, ignore this mail: nothing is done with the address until the link is used.\n");
        }
        else if (existing is { State: not AccountState.Suspended })
        {
            portal.Mail.Send(existing.Email, "Someone tried to sign up with your address",
                $"Someone, perhaps you, tried to sign up for the developer portal at {site} with this address, which already has an account. Nothing was changed.\n\nTo sign in: {site}/login\nForgot the password? Choose a new one: {site}/reset\n\nIf it was not you, you can ignore this mail.\n");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A sign-up waiting for its address to be confirmed was not stored: {Reason}")]
    private static partial void LogSignUpNotStored(ILogger logger, string reason);

    private static async Task ConfirmAsync(HttpContext context, PortalContext portal, string token)
    {
        var page = Page(context, "Confirm your address");
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, page, status, error!, "/signup").ConfigureAwait(false);
            return;
        }

        var hash = ApiKeyHash.Sha256Hex(token);
        var now = portal.Consumers.Time.GetUtcNow();
        var accountId = await portal.Consumers.Store.PeekTokenAsync(hash, VerifyPurpose, now, context.RequestAborted).ConfigureAwait(false);
        if (accountId is null)
        {
            await WebRender.ProblemAsync(context, page, StatusCodes.Status400BadRequest, "This link is used, expired or not one we sent; sign up again for a new one.", "/signup").ConfigureAwait(false);
            return;
        }

        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var (account, retryAt, busy) = await portal.Consumers.ConfirmAsync(accountId, form.Field("password"), address, context.RequestAborted).ConfigureAwait(false);
        if (busy)
        {
            Busy(context, StatusCodes.Status503ServiceUnavailable);
            await WebRender.PageAsync<Confirm>(context, new { Page = page, Token = token, Error = "Too many passwords are being checked at this moment; try again in a few seconds." }, StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
            return;
        }

        if (retryAt is { } until)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling((until - now).TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WebRender.PageAsync<Confirm>(context, new { Page = page, Token = token, Error = $"Too many wrong passwords; try again in {seconds} seconds." }, StatusCodes.Status429TooManyRequests).ConfigureAwait(false);
            return;
        }

        if (account is null)
        {
            // A wrong password keeps the link (the owner may have mistyped); an account confirmed meanwhile spends it.
            var current = await portal.Consumers.Store.GetAccountAsync(accountId, context.RequestAborted).ConfigureAwait(false);
            if (current is null || current.State != AccountState.Unverified)
            {
                await portal.Consumers.Store.TakeTokenAsync(hash, VerifyPurpose, now, context.RequestAborted).ConfigureAwait(false);
                await WebRender.ProblemAsync(context, page, StatusCodes.Status400BadRequest, "This address is confirmed already; sign in.", "/login").ConfigureAwait(false);
                return;
            }

            await WebRender.PageAsync<Confirm>(context, new
            {
                Page = page,
                Token = token,
                Error = "That is not the password of this sign-up. If the address was signed up more than once, only the latest sign-up's password works; or sign up again for a new link.",
            }, StatusCodes.Status422UnprocessableEntity).ConfigureAwait(false);
            return;
        }

        await portal.Consumers.Store.TakeTokenAsync(hash, VerifyPurpose, now, context.RequestAborted).ConfigureAwait(false);
        await SignInAsync(context, account).ConfigureAwait(false);
        context.Response.Redirect("/apps");
    }

    // sso: made through the single sign-on provider, which answers for its own second factor (portal.twoStepRequired
    // does not hold the session, and an account made there has no password to set two-step sign-in up with).
    // idToken: the provider's ID token, kept in the session for signing out there too (SingleSignOnOptions.EndSession).
    private static Task SignInAsync(HttpContext context, ConsumerAccount account, bool sso = false, string? idToken = null)
    {
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, account.Id), new Claim(ClaimTypes.Email, account.Email), new Claim("stamp", account.Stamp),
                .. sso ? [new Claim(SsoClaim, "on")] : (Claim[])[]],
            PortalHost.Scheme);
        return context.SignInAsync(PortalHost.Scheme, new ClaimsPrincipal(identity), SingleSignOnOptions.SessionProperties(idToken));
    }

    private const string SsoClaim = "sso";

    // The forms where consumers sign up, sign in or choose a password, unless only the single sign-on provider signs
    // them in (--portal-oidc-only): then a page that says so, and nothing is read, checked or counted.
    private static Task Passwords(HttpContext context, PortalContext portal, Func<Task> next) =>
        portal.Options.Sso is { Only: true } sso
            ? WebRender.ProblemAsync(context, Page(context, "Not done"), StatusCodes.Status403Forbidden, sso.PasswordsOffText + " Use the button on the sign-in page.", "/login")
            : next();

    private static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [LoggerMessage(Level = LogLevel.Error, Message = "A sign-up was refused: the portal setting emailVerification is on, but this portal sends no mail (give it --portal-smtp or --portal-mail-dir).")]
    private static partial void LogNoMail(ILogger logger);

    // The sign-in form posts back to where it was asked for, so that a page that needed a session opens after it.
    private static string LogInAction(HttpContext context, string path = "/login") =>
        WebForms.ReturnUrl(context, "/") is { } back ? path + "?returnUrl=" + Uri.EscapeDataString(back) : path;

    private static async Task LogInAsync(HttpContext context, PortalContext portal)
    {
        var page = Page(context, "Sign in");
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, page, status, error!, "/login").ConfigureAwait(false);
            return;
        }

        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var (account, retryAt, busy) = await portal.Consumers.LogInAsync(form.Field("email"), form.Field("password"), address, context.RequestAborted).ConfigureAwait(false);
        if (busy)
        {
            Busy(context, StatusCodes.Status503ServiceUnavailable);
            await WebRender.PageAsync<LogIn>(context, new { Page = page, Error = "Too many sign-ins are being checked at this moment; try again in a few seconds.", Email = form.Field("email"), Action = LogInAction(context) },
                StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
            return;
        }

        if (retryAt is { } until)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling((until - portal.Consumers.Time.GetUtcNow()).TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WebRender.PageAsync<LogIn>(context, new { Page = page, Error = $"Too many failed sign-ins; try again in {seconds} seconds.", Email = form.Field("email"), Action = LogInAction(context) }, StatusCodes.Status429TooManyRequests).ConfigureAwait(false);
            return;
        }

        if (account is null)
        {
            await WebRender.PageAsync<LogIn>(context, new { Page = page, Error = "The email or password is not right.", Email = form.Field("email"), Action = LogInAction(context) }, StatusCodes.Status401Unauthorized).ConfigureAwait(false);
            return;
        }

        if (await HasTwoStepAsync(portal, account.Id, context.RequestAborted).ConfigureAwait(false))
        {
            await AskForCodeAsync(context, portal, account).ConfigureAwait(false);
            return;
        }

        await SignInAsync(context, account).ConfigureAwait(false);
        context.Response.Redirect(WebForms.ReturnUrl(context, "/") ?? "/apps");
    }

    // A refusal for load says when to come back.
    private static void Busy(HttpContext context, int status)
    {
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = "2";
        }
    }

    private static async Task LogOutAsync(HttpContext context, PortalContext portal)
    {
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Sign out"), status, error!).ConfigureAwait(false);
            return;
        }

        // With --portal-oidc-end-session, a session made through the provider ends there too (the provider asks, then
        // sends the browser back to the home page); without its ID token, or when the provider cannot do it, only here.
        var idToken = portal.Options.Sso is { EndSession: true } ? await context.GetTokenAsync(PortalHost.Scheme, SingleSignOnOptions.IdTokenName).ConfigureAwait(false) : null;
        await context.SignOutAsync(PortalHost.Scheme).ConfigureAwait(false);
        if (idToken is not null && await SingleSignOnOptions.SignOutOfProviderAsync(context, SsoScheme, idToken, "/", e => LogSsoSignOutFailed(portal.Logger, portal.Options.Sso!.Issuer, e)).ConfigureAwait(false))
        {
            return;
        }

        context.Response.Redirect("/");
    }

    private static async Task ResetRequestAsync(HttpContext context, PortalContext portal)
    {
        var page = Page(context, "Reset your password");
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, page, status, error!, "/reset").ConfigureAwait(false);
            return;
        }

        var email = ConsumerService.NormalizeEmail(form.Field("email"));
        // The same answer, as fast, for a known and an unknown address: finding the account, storing the token and queueing
        // the mail happen off the request path, after the answer (on it, a known address took 1.3 ms and an unknown 0.8).
        if (ConsumerService.CheckEmail(email) is null && portal.Mail.Enabled)
        {
            AfterResponse(context, portal, ct => SendResetAsync(portal, email, ct));
        }

        await WebRender.PageAsync<Message>(context, new
        {
            Page = page with { Title = "Check your mail" },
            Text = "If that address has an account, a link to choose a new password is on its way. It works once, for 30 minutes.",
        }).ConfigureAwait(false);
    }

    // Queued once the answer has gone out, so that not even the job's start (which a known address's lookup and write
    // follow) shares the request's time.
    private static void AfterResponse(HttpContext context, PortalContext portal, Func<CancellationToken, Task> job) =>
        context.Response.OnCompleted(() =>
        {
            portal.Jobs.Enqueue(job);
            return Task.CompletedTask;
        });

    private static async Task SendResetAsync(PortalContext portal, string email, CancellationToken cancellationToken)
    {
        var account = await portal.Consumers.Store.FindAccountByEmailAsync(email, cancellationToken).ConfigureAwait(false);
        if (account is null || account.State == AccountState.Suspended)
        {
            return;
        }

        var token = NewToken();
        await portal.Consumers.Store.SaveTokenAsync(ApiKeyHash.Sha256Hex(token), ResetPurpose, account.Id, portal.Consumers.Time.GetUtcNow() + ResetLifetime, cancellationToken).ConfigureAwait(false);
        // From the configured public URL: the request's Host header is the asker's to choose, and a link to their host
        // would hand them the token when the owner clicks it (password-reset poisoning).
        var link = $"{portal.Links.Base}/reset/{token}";
        portal.Mail.Send(account.Email, "Reset your developer portal password",
            $"Someone asked to reset the password of your developer portal account.\n\nTo choose a new password, open this link within 30 minutes:\n{link}\n\nIf it was not you, ignore this mail; your password stays as it is.\n");
    }

    private static async Task ResetAsync(HttpContext context, PortalContext portal, string token)
    {
        var page = Page(context, "Choose a new password");
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, page, status, error!, "/reset").ConfigureAwait(false);
            return;
        }

        var password = form.Field("password");
        // The password is checked before the token is spent, so a weak choice does not cost the link.
        if (PasswordPolicy.Check(password, "") is { } weak)
        {
            await WebRender.PageAsync<ResetRequest>(context, new { Page = page, Token = token, Error = weak }, StatusCodes.Status422UnprocessableEntity).ConfigureAwait(false);
            return;
        }

        // Hashed before the token is spent too: when the portal is too busy to hash, the link still works.
        var (hashed, hash) = await portal.Consumers.HashPasswordAsync(password, context.RequestAborted).ConfigureAwait(false);
        if (!hashed)
        {
            Busy(context, StatusCodes.Status503ServiceUnavailable);
            await WebRender.PageAsync<ResetRequest>(context, new { Page = page, Token = token, Error = "Too many passwords are being checked at this moment; try again in a few seconds." },
                StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
            return;
        }

        var account = await portal.Consumers.Store.TakeTokenAsync(ApiKeyHash.Sha256Hex(token), ResetPurpose, portal.Consumers.Time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
        var problem = account is null ? null : await portal.Consumers.SetPasswordAsync(account, password, "portal:reset", context.RequestAborted, hash, mailboxProven: true).ConfigureAwait(false);
        if (account is null || problem is not null)
        {
            await WebRender.ProblemAsync(context, page, account is null ? StatusCodes.Status400BadRequest : StatusCodes.Status422UnprocessableEntity,
                problem?.Detail ?? "This link is used, expired or not one we sent; ask for a new one.", "/reset").ConfigureAwait(false);
            return;
        }

        await WebRender.PageAsync<Message>(context, new { Page = page with { Title = "Password changed" }, Text = "Your password is changed; every earlier session is signed out.", Link = "/login", LinkText = "Sign in" }).ConfigureAwait(false);
    }
}
