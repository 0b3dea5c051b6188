using System.Security.Claims;
using System.Text.Json.Nodes;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Analytics;
using Gatehouse.Management.Analytics.Charts;
using Gatehouse.Management.Console.Pages;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Portal;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Web;
using Gatehouse.Model.Access;
using Gatehouse.Model.Config;
using Gatehouse.Model.Plans;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Console;

/// <summary>
/// The admin console at <c>/console</c> on the admin listener. Signing in takes the admin token (role admin) or an
/// admin user's email and password (role admin or viewer). Every action calls the code the admin API calls
/// (<see cref="ConfigChanges"/>, <see cref="ConsumerService"/>) with the acting user as the audit actor
/// (<c>console:EMAIL</c>, or <c>console:admin-token</c>); a viewer sees no actions and its posts are refused.
/// </summary>
internal static partial class ConsoleEndpoints
{
    /// <summary>What the console's pages call: the admin API's own services.</summary>
    internal sealed record ConsoleContext(ConfigChanges Changes, ConsumerService ConsumerService, AdminApiOptions Options, ConsumerUsage? Usage);

    public const string Scheme = "console";
    private const int PageSize = 100;

    public static void Map(IEndpointRouteBuilder app, ConsoleContext admin, byte[] tokenSha256)
    {
        var consumers = admin.ConsumerService;
        var changes = admin.Changes;
        var keys = app.ServiceProvider.GetRequiredService<TwoStepKeys>();
        app.MapGet("/console", context => Signed(context, () => { context.Response.Redirect("/console/pending"); return Task.CompletedTask; }));
        app.MapGet("/console/login", context => WebRender.PageAsync<ConsoleLogin>(context, new { Page = Page(context, "Sign in to the console"), Action = LogInAction(context), Sso = SsoLink(context), PasswordsOff = PasswordsOff(context) }));
        app.MapPost("/console/login", context => LogInAsync(context, consumers, tokenSha256, keys));
        MapTwoStep(app, admin, keys);
        MapSso(app, consumers, keys, admin.Options.Sso);
        MapWelcome(app, consumers);
        app.MapPost("/console/logout", context => Change(context, async _ =>
        {
            // With --console-oidc-end-session, a session made through the provider ends there too; without its ID token,
            // or when the provider cannot do it, only here.
            var sso = admin.Options.Sso;
            var idToken = sso is { EndSession: true } ? await context.GetTokenAsync(Scheme, SingleSignOnOptions.IdTokenName).ConfigureAwait(false) : null;
            await context.SignOutAsync(Scheme).ConfigureAwait(false);
            if (idToken is not null && await SingleSignOnOptions.SignOutOfProviderAsync(context, SsoScheme, idToken, "/console/login", e => LogSsoSignOutFailed(Logger(context), sso!.Issuer, e)).ConfigureAwait(false))
            {
                return;
            }

            context.Response.Redirect("/console/login");
        }, viewerMay: true));
        app.MapGet("/console/access", context => Signed(context, () => AccessAsync(context, admin)));
        app.MapPost("/console/access/invite", context => Change(context, async actor =>
        {
            var form = context.Request.Form; // read and checked by Change
            var email = ConsumerService.NormalizeEmail(form.Field("email"));
            var role = form.Field("role");
            if (ConsumerService.CheckEmail(email) is { } bad || role is not "admin" and not "viewer")
            {
                await AccessAsync(context, admin, error: "Give an email address, and the role admin or viewer.", status: StatusCodes.Status422UnprocessableEntity).ConfigureAwait(false);
                return;
            }

            // The link is shown here, once, never put in an address (history, logs): the page answers the post itself.
            var (_, link, _) = await AdminUserEndpoints.InviteAsync(consumers, admin.Options, email, role, actor, Origin(context), context.RequestAborted)
                .ConfigureAwait(false);
            await AccessAsync(context, admin, invited: (email, link)).ConfigureAwait(false);
        }));
        app.MapPost("/console/access/users/{email}/sso/release", context => Change(context, async actor =>
        {
            await consumers.Store.UnlinkSsoAsync(InviteOwner(Route(context, "email")), actor, "console-user", context.RequestAborted).ConfigureAwait(false);
            await Done(context, Task.FromResult<AdminProblem?>(null), "/console/access").ConfigureAwait(false);
        }, confirm: true));
        app.MapPost("/console/accounts/{id}/sso/release", context => Change(context, async actor =>
        {
            await consumers.Store.UnlinkSsoAsync(Route(context, "id"), actor, "account", context.RequestAborted).ConfigureAwait(false);
            await Done(context, Task.FromResult<AdminProblem?>(null), "/console/accounts").ConfigureAwait(false);
        }, confirm: true));
        // Every API token of the account (each revocation in the change log): for a leaked one, without suspending the account.
        app.MapPost("/console/accounts/{id}/tokens/revoke", context => Change(context, async actor =>
        {
            var id = Route(context, "id");
            foreach (var token in await consumers.Store.ListPortalTokensAsync(id, context.RequestAborted).ConfigureAwait(false))
            {
                await consumers.Store.DeletePortalTokenAsync(id, token.Name, actor, context.RequestAborted).ConfigureAwait(false);
            }

            await Done(context, Task.FromResult<AdminProblem?>(null), "/console/accounts").ConfigureAwait(false);
        }, confirm: true));
        app.MapPost("/console/access/users/{email}/delete", context => Change(context, async actor =>
        {
            var email = Route(context, "email");
            await Done(context, Task.FromResult(await consumers.Store.DeleteAdminUserAsync(email, actor, context.RequestAborted).ConfigureAwait(false)
                ? null : AdminProblem.NotFound($"Console user '{email}'")), "/console/access").ConfigureAwait(false);
        }, confirm: true));
        app.MapPost("/console/access/tokens/{name}/revoke", context => Change(context, async actor =>
        {
            var name = Route(context, "name");
            // As in the API: tokens are the admin token's to manage, not a console user's.
            var problem = context.User.FindFirstValue(ClaimTypes.Name) != TokenName
                ? new AdminProblem(StatusCodes.Status403Forbidden, "admin-forbidden", "Admin token required", "Admin API tokens are revoked by whoever signed in with the admin token.")
                : await admin.Options.Store.DeleteAdminTokenAsync(name, actor, context.RequestAborted).ConfigureAwait(false) ? null : AdminProblem.NotFound($"Token '{name}'");
            await Done(context, Task.FromResult(problem), "/console/access").ConfigureAwait(false);
        }, confirm: true));
        app.MapGet("/console/account", context => Signed(context, () => AccountAsync(context, null, StatusCodes.Status200OK)));
        app.MapPost("/console/account/password", context => Passwords(context, () => ChangePasswordAsync(context, consumers)));
        app.MapGet("/console/pending", context => Signed(context, () => PendingAsync(context, admin)));
        MapSettings(app, consumers);
        app.MapGet("/console/accounts", context => Signed(context, () => AccountsAsync(context, consumers)));
        app.MapGet("/console/applications", context => Signed(context, () => ApplicationsAsync(context, admin)));
        app.MapGet("/console/applications/{id}", context => Signed(context, () => ApplicationAsync(context, admin, Route(context, "id"))));
        app.MapGet("/console/plans", context => Signed(context, () => PlansAsync(context, consumers)));
        app.MapGet("/console/revisions", context => Signed(context, () => RevisionsAsync(context, changes)));
        app.MapGet("/console/revisions/{from}/diff/{to}", context => Signed(context, () => DiffAsync(context, changes)));
        app.MapGet("/console/audit", context => Signed(context, () => AuditAsync(context, changes, consumers)));
        app.MapGet("/console/nodes", context => Signed(context, () => NodesAsync(context, admin)));

        foreach (var verb in (string[])["approve", "reject", "suspend", "resume"])
        {
            app.MapPost($"/console/accounts/{{id}}/{verb}", context => Change(context, actor =>
                Done(context, consumers.DecideAccountAsync(Route(context, "id"), verb, actor, context.RequestAborted), "/console/accounts")));
            app.MapPost($"/console/applications/{{id}}/{verb}", context => Change(context, actor =>
                Done(context, consumers.DecideApplicationAsync(Route(context, "id"), verb, actor, context.RequestAborted), "/console/applications")));
        }

        app.MapPost("/console/accounts/{id}/delete", context => Change(context, actor =>
            Done(context, consumers.DeleteAccountAsync(Route(context, "id"), actor, context.RequestAborted), "/console/accounts"), confirm: true));
        app.MapPost("/console/applications/{id}/delete", context => Change(context, actor =>
            Done(context, consumers.DeleteApplicationAsync(null, Route(context, "id"), actor, context.RequestAborted), "/console/applications"), confirm: true));
        // An administrator puts a portal application on a plan, hidden ones too (ConsumerService.MovePlanAsync).
        app.MapPost("/console/applications/{id}/plan/{plan}", context => Change(context, async actor =>
        {
            var (_, problem) = await consumers.MovePlanAsync(Route(context, "id"), Route(context, "plan"), actor, context.RequestAborted).ConfigureAwait(false);
            await Done(context, Task.FromResult(problem), $"/console/applications/{Esc(Route(context, "id"))}").ConfigureAwait(false);
        }));
        app.MapPost("/console/applications/{id}/keys/{prefix}/revoke", context => Change(context, actor =>
            Done(context, consumers.RevokeKeyAsync(null, Route(context, "id"), Route(context, "prefix"), actor, context.RequestAborted), "/console/applications")));
        foreach (var (verb, state) in (ReadOnlySpan<(string, string)>)[("approve", "live"), ("reject", "suspended")])
        {
            app.MapPost($"/console/config-applications/{{id}}/{verb}", context => Change(context, async actor =>
            {
                var outcome = await ApprovalEndpoints.DecideAsync(changes, Route(context, "id"), state, verb, actor, context.RequestAborted).ConfigureAwait(false);
                await Done(context, Task.FromResult(outcome.Problem), "/console/pending").ConfigureAwait(false);
            }));
        }

        app.MapPost("/console/revisions/{n}/rollback", context => Change(context, async actor =>
        {
            var problem = long.TryParse(Route(context, "n"), out var n)
                ? (await changes.RollbackAsync(n, actor, context.RequestAborted).ConfigureAwait(false)).Problem
                : AdminProblem.NotFound("That revision");
            await Done(context, Task.FromResult(problem), "/console/revisions").ConfigureAwait(false);
        }));
        WebAssets.Map(app, "/console/assets", "site.css");
    }

    private static string Route(HttpContext context, string name) => (string)context.Request.RouteValues[name]!;

    internal static WebPage Page(HttpContext context, string title, string? notice = null) =>
        new("console", title, WebForms.Token(context), WebPage.Claim(context.User, ClaimTypes.Name), WebPage.Claim(context.User, ClaimTypes.Role), notice ?? context.Request.Query["done"].FirstOrDefault());

    private static Task Signed(HttpContext context, Func<Task> next)
    {
        if (context.User.Identity?.IsAuthenticated != true)
        {
            context.Response.Redirect("/console/login?returnUrl=" + Uri.EscapeDataString(context.Request.Path + context.Request.QueryString));
            return Task.CompletedTask;
        }

        return next();
    }

    // A state-changing post: signed in, a valid form (antiforgery), and the admin role unless viewers may.
    // confirm: the form must carry confirm=yes (a checkbox beside the button), for what cannot be undone.
    private static async Task Change(HttpContext context, Func<string, Task> act, bool viewerMay = false, bool confirm = false)
    {
        var page = Page(context, "Not done");
        if (context.User.Identity?.IsAuthenticated != true)
        {
            await WebRender.ProblemAsync(context, page, StatusCodes.Status401Unauthorized, "Sign in first.", "/console/login").ConfigureAwait(false);
            return;
        }

        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, page, status, error!, "/console").ConfigureAwait(false);
            return;
        }

        if (!viewerMay && context.User.FindFirstValue(ClaimTypes.Role) != "admin")
        {
            await WebRender.ProblemAsync(context, page, StatusCodes.Status403Forbidden, "Viewers may look, not change; ask an admin.", "/console").ConfigureAwait(false);
            return;
        }

        if (confirm && !form.Confirmed())
        {
            await WebRender.ProblemAsync(context, page, StatusCodes.Status400BadRequest,
                "Nothing was deleted: tick \"sure\" beside the button to confirm, as deleting cannot be undone.", "/console").ConfigureAwait(false);
            return;
        }

        await act("console:" + context.User.FindFirstValue(ClaimTypes.Name)).ConfigureAwait(false);
    }

    private static async Task Done(HttpContext context, Task<AdminProblem?> change, string back)
    {
        var problem = await change.ConfigureAwait(false);
        if (problem is not null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Not done"), problem.Status, problem.Detail, back).ConfigureAwait(false);
            return;
        }

        context.Response.Redirect(back + "?done=Done.");
    }

    // Only the provider signs console users in: the sign-in form takes the admin token alone.
    private static bool PasswordsOff(HttpContext context) => context.RequestServices.GetRequiredService<AdminApiOptions>().Sso is { Only: true };

    // The sign-in page's link to the provider, when single sign-on is set up: its name and where the link goes.
    private static (string Name, string Href)? SsoLink(HttpContext context) =>
        context.RequestServices.GetRequiredService<AdminApiOptions>().Sso is { } sso ? (sso.Name, LogInAction(context, "/console/sso")) : null;

    private static string LogInAction(HttpContext context, string path = "/console/login") =>
        WebForms.ReturnUrl(context, "/console/") is { } back ? path + "?returnUrl=" + Uri.EscapeDataString(back) : path;

    private static async Task LogInAsync(HttpContext context, ConsumerService consumers, byte[] tokenSha256, TwoStepKeys keys)
    {
        var page = Page(context, "Sign in to the console");
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, page, status, error!, "/console/login").ConfigureAwait(false);
            return;
        }

        var email = ConsumerService.NormalizeEmail(form.Field("email"));
        var password = form.Field("password");
        if (email.Length > 0 && context.RequestServices.GetRequiredService<AdminApiOptions>().Sso is { Only: true } only)
        {
            // Only the provider signs console users in; this form takes the admin token alone. Nothing is checked or counted.
            await WebRender.PageAsync<ConsoleLogin>(context, new { Page = page, Action = LogInAction(context), Sso = SsoLink(context), PasswordsOff = true, Error = only.PasswordsOffText },
                StatusCodes.Status403Forbidden).ConfigureAwait(false);
            return;
        }

        var address = "console:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        var account = email.Length == 0 ? "admin-token" : "console:" + email;
        var (refused, attempt) = await consumers.Throttle.TryBeginAsync(account, address, context.RequestAborted).ConfigureAwait(false);
        if (refused is not null)
        {
            await WebRender.PageAsync<ConsoleLogin>(context, new { Page = page, Action = LogInAction(context), Sso = SsoLink(context), PasswordsOff = PasswordsOff(context), Error = "Too many failed sign-ins; wait a minute." }, StatusCodes.Status429TooManyRequests).ConfigureAwait(false);
            return;
        }

        (string Name, string Role, string Stamp)? who = null;
        AdminUser? user = null;
        if (email.Length == 0)
        {
            if (AdminToken.Matches("Bearer " + password, tokenSha256))
            {
                who = (TokenName, "admin", TokenStamp(tokenSha256));
            }
        }
        else
        {
            // An unknown address is checked against a dummy hash: it took no time at all, which told anyone who the
            // console's users are.
            user = await consumers.Store.GetAdminUserAsync(email, context.RequestAborted).ConfigureAwait(false);
            var (checkedIt, right) = await consumers.CheckConsolePasswordAsync(attempt!, user?.PasswordHash, password, context.RequestAborted).ConfigureAwait(false);
            if (!checkedIt)
            {
                context.Response.Headers.RetryAfter = "5";
                await WebRender.PageAsync<ConsoleLogin>(context, new { Page = page, Action = LogInAction(context), Sso = SsoLink(context), PasswordsOff = PasswordsOff(context), Error = "Too many passwords are being checked at this moment; try again in a few seconds." },
                    StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
                return;
            }

            if (right && user!.TwoStep)
            {
                // The password is right; the account's failed attempts go, and the code is asked for (counted apart).
                await consumers.Throttle.SucceededAsync(attempt!).ConfigureAwait(false);
                await AskForCodeAsync(context, keys, user).ConfigureAwait(false);
                return;
            }

            if (right)
            {
                who = (user!.Email, user.Role == AdminRole.Admin ? "admin" : "viewer", UserStamp(user));
            }
        }

        if (who is not { } signed)
        {
            LogRefused(Logger(context), email.Length == 0 ? "the admin token" : user is null ? "an address with no console user" : email, Address(context),
                email.Length == 0 ? "a wrong token" : "a wrong password");
            await WebRender.PageAsync<ConsoleLogin>(context, new { Page = page, Action = LogInAction(context), Sso = SsoLink(context), PasswordsOff = PasswordsOff(context), Error = "Those credentials are not right." }, StatusCodes.Status401Unauthorized).ConfigureAwait(false);
            return;
        }

        await consumers.Throttle.SucceededAsync(attempt).ConfigureAwait(false);
        LogSignedIn(Logger(context), signed.Name, signed.Role, Address(context), email.Length == 0 ? "the admin token" : "a password");
        await SignInAsync(context, signed.Name, signed.Role, signed.Stamp).ConfigureAwait(false);
        context.Response.Redirect(WebForms.ReturnUrl(context, "/console/") ?? "/console/pending");
    }

    private const string TokenName = "admin-token";
    private const string StampClaim = "stamp";

    // Who signed in to the console, from where and how, and the refusals: the trail a security review asks for (the
    // change log holds what they changed). Never a password, a token or a code; an address with no console user is not
    // named, so that the log does not collect what strangers typed.
    private static ILogger Logger(HttpContext context) => context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Console");

    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    [LoggerMessage(Level = LogLevel.Information, Message = "Console sign-in: {User} (role {Role}) from {Address} with {Method}")]
    private static partial void LogSignedIn(ILogger logger, string user, string role, string address, string method);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Console sign-in refused: {User} from {Address}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string user, string address, string reason);

    // What a session was made with: the user's password hash and role, or the admin token. When either changes (a new
    // password or role, the user deleted, the node started with another token) the stamp no longer matches and the
    // session ends at its next request; before, a deleted or demoted user kept an admin session for as long as they
    // used it (the cookie slides), and a session made with a replaced admin token outlived it.
    // Two-step sign-in turned on or off (or its secret replaced) changes it too; without it the stamp is what it was
    // before two-step sign-in existed, so that an upgrade ends no session.
    private static string UserStamp(AdminUser user) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            $"user\n{user.Role}\n{user.PasswordHash}" + (user.TotpSecret is { } secret ? "\n" + secret : "")
            + (user.SessionsEnded > 0 ? "\nended " + user.SessionsEnded.ToString(System.Globalization.CultureInfo.InvariantCulture) : ""))))[..32];

    private static string TokenStamp(byte[] tokenSha256) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([.. "token\n"u8, .. tokenSha256]))[..32];

    // twoStep: the user has two-step sign-in on (the stamp covers it, so the claim cannot outlive a change).
    // sso: the session was made through the single sign-on provider, which answers for how strongly it checked.
    // idToken: the provider's ID token, kept in the session for signing out there too (SingleSignOnOptions.EndSession); a
    // session made again for the same user (after a change of theirs) keeps the one it had.
    private static async Task SignInAsync(HttpContext context, string name, string role, string stamp, bool twoStep = false, bool sso = false, string? idToken = null)
    {
        if (idToken is null && await context.AuthenticateAsync(Scheme).ConfigureAwait(false) is { Succeeded: true } current && current.Principal.Identity?.Name == name)
        {
            idToken = current.Properties.GetTokenValue(SingleSignOnOptions.IdTokenName);
        }

        await context.SignInAsync(Scheme, new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, role), new Claim(StampClaim, stamp), .. twoStep ? [new Claim(TwoStepClaim, "on")] : (Claim[])[],
                .. sso ? [new Claim(SsoClaim, "on")] : (Claim[])[]], Scheme)), SingleSignOnOptions.SessionProperties(idToken)).ConfigureAwait(false);
    }

    private const string TwoStepClaim = "twoStep";
    private const string SsoClaim = "sso";

    /// <summary>
    /// The console's one gate for <c>console.twoStepRequired</c>, run for every request under <c>/console</c> once the
    /// session is read (so the analytics page, which checks its own session, is held to it too): a console user without
    /// two-step sign-in may only set it up (the account page and its forms), sign out, or sign in; every other page sends
    /// them to set it up and every other post is refused with 403, changing nothing.
    /// </summary>
    internal static async Task RequireTwoStepAsync(HttpContext context, Func<Task> next)
    {
        var path = context.Request.Path;
        var setUp = path.StartsWithSegments("/console/account") || path.StartsWithSegments("/console/logout") || path.StartsWithSegments("/console/login")
            || path.StartsWithSegments("/console/welcome") || path.StartsWithSegments("/console/reset") || path.StartsWithSegments("/console/assets");
        if (setUp || !await MustSetUpTwoStepAsync(context).ConfigureAwait(false))
        {
            await next().ConfigureAwait(false);
            return;
        }

        if (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.Redirect("/console/account#two-step");
            return;
        }

        await WebRender.ProblemAsync(context, Page(context, "Not done"), StatusCodes.Status403Forbidden,
            "Two-step sign-in is required here: set it up on your account page first; nothing was changed.", "/console/account").ConfigureAwait(false);
    }

    // The admin token's sessions are not held to console.twoStepRequired: the token is a machine's secret, not a person's.
    // Nor are sessions made through single sign-on: the provider answers for its own second factor, and a user invited
    // to sign in only there has no password to set two-step sign-in up with.
    private static async Task<bool> MustSetUpTwoStepAsync(HttpContext context)
    {
        if (context.User.FindFirstValue(ClaimTypes.Name) is null or TokenName || context.User.HasClaim(TwoStepClaim, "on") || context.User.HasClaim(SsoClaim, "on"))
        {
            return false;
        }

        var store = context.RequestServices.GetRequiredService<AdminApiOptions>().Store;
        return await store.GetSettingAsync(TwoStepRequiredSetting, context.RequestAborted).ConfigureAwait(false) == "true";
    }

    /// <summary>Every request of a console session: it lasts while what it was made with is unchanged.</summary>
    internal static Func<CookieValidatePrincipalContext, Task> SessionValidator(IConsumerStore store, byte[] tokenSha256)
    {
        var tokenStamp = TokenStamp(tokenSha256); // once: the token does not change while the process runs
        return context => ValidateSessionAsync(context, store, tokenStamp);
    }

    private static async Task ValidateSessionAsync(CookieValidatePrincipalContext context, IConsumerStore store, string tokenStamp)
    {
        var name = context.Principal?.FindFirstValue(ClaimTypes.Name);
        var stamp = context.Principal?.FindFirstValue(StampClaim);
        var current = name switch
        {
            null => null,
            TokenName => tokenStamp,
            _ => await store.GetAdminUserAsync(name, context.HttpContext.RequestAborted).ConfigureAwait(false) is { } user ? UserStamp(user) : null,
        };
        if (current is null || stamp is null || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.ASCII.GetBytes(current), System.Text.Encoding.ASCII.GetBytes(stamp)))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme).ConfigureAwait(false);
        }
    }

    // Who is signed in; a console user may change their own password and two-step sign-in here (the admin token is changed
    // by restarting with another).
    private static async Task AccountAsync(HttpContext context, string? error, int status, string? notice = null, TwoStepKeys? keys = null)
    {
        var name = context.User.FindFirstValue(ClaimTypes.Name);
        var role = context.User.FindFirstValue(ClaimTypes.Role);
        var store = context.RequestServices.GetRequiredService<AdminApiOptions>().Store;
        var user = name is null or TokenName ? null : await store.GetAdminUserAsync(name, context.RequestAborted).ConfigureAwait(false);
        var required = user is not null && await store.GetSettingAsync(TwoStepRequiredSetting, context.RequestAborted).ConfigureAwait(false) == "true";
        keys ??= context.RequestServices.GetRequiredService<TwoStepKeys>();
        await WebRender.PageAsync<ConsolePage>(context, new
        {
            Page = Page(context, "Your account", notice),
            Text = AccountText(name, role),
            PasswordForm = user is not null,
            TwoStep = user is null ? null : TwoStepPart(context, keys, user, required, user.TwoStep ? keys.TakeNewCodes(context, "/console/account", user.Email) : null),
            Error = error,
        }, status).ConfigureAwait(false);
    }

    private static string AccountText(string? name, string? role) => name == TokenName
        ? "Signed in with the admin token (role admin). The token is changed by starting the control plane with another GATEHOUSE_ADMIN_TOKEN; every console session made with the old one then ends."
        : $"Signed in as {name} (role {role}). An administrator changes roles and removes users through the admin API (/admin/users).";

    // A console user's own new password: the current one checked again (counted like a sign-in), the new one by the portal's
    // rules. The new hash changes the session stamp, so every other session ends; this one is made again.
    private static async Task ChangePasswordAsync(HttpContext context, ConsumerService consumers)
    {
        var page = Page(context, "Your account");
        var email = context.User.FindFirstValue(ClaimTypes.Name);
        if (context.User.Identity?.IsAuthenticated != true || email is null)
        {
            await WebRender.ProblemAsync(context, page, StatusCodes.Status401Unauthorized, "Sign in first.", "/console/login").ConfigureAwait(false);
            return;
        }

        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, page, status, error!, "/console/account").ConfigureAwait(false);
            return;
        }

        if (email == TokenName)
        {
            await AccountAsync(context, "The admin token has no password to change here.", StatusCodes.Status400BadRequest).ConfigureAwait(false);
            return;
        }

        var password = form.Field("password");
        if (PasswordPolicy.Check(password, email) is { } weak)
        {
            await AccountAsync(context, weak, StatusCodes.Status422UnprocessableEntity).ConfigureAwait(false);
            return;
        }

        var address = "console:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        var (refused, attempt) = await consumers.Throttle.TryBeginAsync("console:" + email, address, context.RequestAborted).ConfigureAwait(false);
        if (refused is not null)
        {
            await AccountAsync(context, "Too many wrong passwords; wait a minute.", StatusCodes.Status429TooManyRequests).ConfigureAwait(false);
            return;
        }

        var user = await consumers.Store.GetAdminUserAsync(email, context.RequestAborted).ConfigureAwait(false);
        var (checkedIt, right) = await consumers.CheckConsolePasswordAsync(attempt!, user?.PasswordHash, form.Field("current"), context.RequestAborted).ConfigureAwait(false);
        var (hashed, hash) = checkedIt && right ? await consumers.HashPasswordAsync(password, context.RequestAborted, console: true).ConfigureAwait(false) : (false, "");
        if (!checkedIt || (right && !hashed))
        {
            context.Response.Headers.RetryAfter = "5";
            await AccountAsync(context, "Too many passwords are being checked at this moment; try again in a few seconds.", StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
            return;
        }

        if (!right)
        {
            await AccountAsync(context, "The current password is not right.", StatusCodes.Status401Unauthorized).ConfigureAwait(false);
            return;
        }

        await consumers.Throttle.SucceededAsync(attempt!).ConfigureAwait(false);
        // Only over the record the check was made against: a role changed or the user deleted meanwhile stays so.
        if (!await consumers.Store.ChangeAdminUserPasswordAsync(user!.Email, user.PasswordHash, hash, "console:" + user.Email, context.RequestAborted).ConfigureAwait(false))
        {
            await context.SignOutAsync(Scheme).ConfigureAwait(false);
            await WebRender.ProblemAsync(context, page, StatusCodes.Status409Conflict, "Your console user was changed or deleted meanwhile; nothing was changed. Sign in again.", "/console/login").ConfigureAwait(false);
            return;
        }

        var changed = user with { PasswordHash = hash };
        await SignInAsync(context, changed.Email, changed.Role == AdminRole.Admin ? "admin" : "viewer", UserStamp(changed), changed.TwoStep).ConfigureAwait(false);
        context.Response.Redirect("/console/account?done=" + Uri.EscapeDataString("Your password is changed; every other session of yours is signed out."));
    }

    private static async Task PendingAsync(HttpContext context, ConsoleContext admin)
    {
        var store = admin.ConsumerService.Store;
        var accounts = await store.ListAccountsAsync(AccountState.Pending, null, PageSize, context.RequestAborted).ConfigureAwait(false);
        var applications = await store.ListApplicationsAsync(null, ApplicationState.Pending, null, PageSize, context.RequestAborted).ConfigureAwait(false);
        var config = await admin.ConsumerService.ConfigAsync(context.RequestAborted).ConfigureAwait(false) ?? new GatehouseConfig();
        var configured = config.Applications.Where(a => a.Value.State == ApplicationState.Pending).ToList();
        await Render(context, "Pending approval",
            new ConsoleTable("Accounts", ["Email", "Name", "Signed up"], [.. accounts.Select(a => new ConsoleRow([a.Email, a.Title, Time(a.CreatedAt)],
                [new("Approve", $"/console/accounts/{Esc(a.Id)}/approve"), new("Reject", $"/console/accounts/{Esc(a.Id)}/reject", true)]))], "No account waits."),
            new ConsoleTable("Portal applications", ["Application", "Id", "Account", "Plan", "Created"], [.. applications.Select(a => new ConsoleRow([a.Title, a.Id, a.Account, a.Plan, Time(a.CreatedAt)],
                [new("Approve", $"/console/applications/{Esc(a.Id)}/approve"), new("Reject", $"/console/applications/{Esc(a.Id)}/reject", true)]))], "No portal application waits."),
            new ConsoleTable("Config applications", ["Application", "Account", "Plan"], [.. configured.Select(a => new ConsoleRow([a.Key, a.Value.Account, a.Value.Plan],
                [new("Approve", $"/console/config-applications/{Esc(a.Key)}/approve"), new("Reject", $"/console/config-applications/{Esc(a.Key)}/reject", true)]))], "No config application waits.")).ConfigureAwait(false);
    }

    private static IReadOnlyList<ConsoleAction> Decisions(PortalApplication a) =>
    [
        .. a.State switch
        {
            ApplicationState.Pending => [new("Approve", $"/console/applications/{Esc(a.Id)}/approve"), new("Reject", $"/console/applications/{Esc(a.Id)}/reject", true)],
            ApplicationState.Live => [new("Suspend", $"/console/applications/{Esc(a.Id)}/suspend", true)],
            _ => (ConsoleAction[])[new("Resume", $"/console/applications/{Esc(a.Id)}/resume")],
        },
        new("Delete", $"/console/applications/{Esc(a.Id)}/delete", true, Confirm: true),
    ];

    // One portal application: what it is, its keys, what is left of its limits, its calls per day and its change log.
    private static async Task ApplicationAsync(HttpContext context, ConsoleContext admin, string id)
    {
        var store = admin.ConsumerService.Store;
        var application = await admin.ConsumerService.FindAsync(null, id, context.RequestAborted).ConfigureAwait(false);
        if (application is null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Not found"), StatusCodes.Status404NotFound, "There is no portal application with this id.", "/console/applications").ConfigureAwait(false);
            return;
        }

        var account = await store.GetAccountAsync(application.Account, context.RequestAborted).ConfigureAwait(false);
        var today = DateOnly.FromDateTime(admin.Options.Time.GetUtcNow().UtcDateTime);
        var report = admin.Usage is { } usage ? await usage.GetAsync(application.Id, today.AddDays(-29), today, context.RequestAborted).ConfigureAwait(false) : null;
        var limits = report?.Limits ?? admin.Options.Limits?.Invoke(application.Id) ?? [];
        var days = report?.Days.Where(d => d.Calls > 0).OrderByDescending(d => d.Day).ToList() ?? [];
        var changes = await store.ListConsumerChangesOfAsync("application", application.Id, 50, context.RequestAborted).ConfigureAwait(false);
        var config = await admin.ConsumerService.ConfigAsync(context.RequestAborted).ConfigureAwait(false);
        var otherPlans = config?.Plans.Where(p => !p.Value.Anonymous && p.Key != application.Plan).ToList() ?? [];
        var chart = days.Count > 0 ? UsageCharts.CallsPerDay([.. report!.Days.Select(d => (d.Day, d.Calls, d.ClientErrors, d.Errors))]) : null;
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        await WebRender.PageAsync<ConsolePage>(context, new
        {
            Page = Page(context, $"Application: {application.Title}"),
            Markup = chart,
            Tables = new[]
            {
                new ConsoleTable("Application", ["Id", "Account", "Plan", "State", "Created"],
                    [new ConsoleRow([application.Id, account is null ? application.Account : $"{account.Email} ({application.Account})", application.Plan, Name(application.EffectiveState), Time(application.CreatedAt)], Decisions(application))]),
                new ConsoleTable("Other plans (its state stays: a move onto an approval plan is the approval; hidden plans are for administrators to give)", ["Plan", "Title", "Shown to consumers", "Needs approval"],
                    [.. otherPlans.Select(p => new ConsoleRow([p.Key, p.Value.Title ?? p.Key, p.Value.Hidden ? "no (hidden)" : "yes", p.Value.ApprovalRequired ? "yes" : "no"],
                        [new($"Put on {p.Key}", $"/console/applications/{Esc(application.Id)}/plan/{Esc(p.Key)}")]))], "No other plan."),
                new ConsoleTable("Keys", ["Key", "Created", "Expires"], [.. application.Keys.Select(k => new ConsoleRow([k.Prefix + "…", Time(k.CreatedAt), k.Expires is { } e ? Time(e) : "never"],
                    [new($"Revoke {k.Prefix}…", $"/console/applications/{Esc(application.Id)}/keys/{Esc(k.Prefix)}/revoke", true)]))], "No key."),
                new ConsoleTable("OAuth client ids (their tokens mean this application; set with PUT /admin/portal/applications/{id}/client-ids, or registered by its owner)", ["Client id"],
                    [.. (application.ClientIds ?? []).Select(c => new ConsoleRow([c], []))], "None."),
                new ConsoleTable("Allowed addresses (set by its owner; its plan's IP filter applies as well)", ["Address or range"],
                    [.. (application.AllowedAddresses ?? []).Select(a => new ConsoleRow([a], []))], "Any."),
                new ConsoleTable("What is left now (this node's counters)", ["Limit", "Allowed", "Used", "Left", "Resets"],
                    [.. limits.Select(l => new ConsoleRow([l.Name + (l.Model is { } model ? $" ({model})" : "") + (l.Shadow ? " (shadow)" : ""), l.Format(l.Limit), l.Format(l.Used), l.Format(l.Remaining), Time(l.ResetsAt)], []))],
                    "No limit on its plan, or no gateway in this process."),
                new ConsoleTable("Calls per day, last 30 days (days without calls left out)", ["Day (UTC)", "Calls", "4xx", "5xx", "p95 (ms)", "Model tokens"],
                    [.. days.Select(d => new ConsoleRow([d.Day.ToString("yyyy-MM-dd", invariant), d.Calls.ToString("#,0", invariant), d.ClientErrors.ToString("#,0", invariant), d.Errors.ToString("#,0", invariant),
                        double.IsFinite(d.P95Ms) ? d.P95Ms.ToString("0.##", invariant) : "–", (d.PromptTokens + d.CompletionTokens).ToString("#,0", invariant)], []))],
                    report is null ? "This store keeps no usage." : "No calls in the last 30 days."),
                new ConsoleTable("Changes, newest first", ["When", "Who", "What"], [.. changes.Select(c => new ConsoleRow([Time(c.At), c.Actor, c.Action], []))], "None."),
            },
        }).ConfigureAwait(false);
    }

    private static async Task PlansAsync(HttpContext context, ConsumerService consumers)
    {
        var config = await consumers.ConfigAsync(context.RequestAborted).ConfigureAwait(false) ?? new GatehouseConfig();
        var plans = config.Plans.Keys.ToList();
        var grants = plans.ToDictionary(p => p, p => PlanGrants.Resolve(config.Plans[p], config));
        var operations = config.Services.SelectMany(s => s.Value.Operations).Concat(config.Compositions.Select(c => KeyValuePair.Create(c.Value.OperationIdOf(c.Key), c.Value.AsOperation())));
        var rows = operations.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => new ConsoleRow(
            [o.Key, $"{o.Value.Method} {o.Value.Path}", o.Value.Access == OperationAccess.Read ? "read" : "write",
             .. plans.Select(p => grants[p].Operations.GetValueOrDefault(o.Key) != AccessFlags.None ? (o.Value.Access == OperationAccess.Read ? "read" : "write") : "—")],
            []));
        var summary = plans.Select(p => new ConsoleRow([p, config.Plans[p].Title ?? p, PlanSummary.Of(p, config.Plans[p], PlanProjection.Of(p, config)).Limits,
            PlanSummary.DescribeTokens(config.Plans[p]) is { Count: > 0 } tokens ? string.Join("; ", tokens) : "none",
            config.Plans[p].ApprovalRequired ? "yes" : "no", config.Plans[p].Hidden ? "yes" : "no", config.Plans[p].Anonymous ? "yes" : "no"], []));
        // Routes bound to no operation are granted by route (or path): the models' API and plain proxied routes.
        static string Granted(AccessFlags flags) => flags switch
        {
            AccessFlags.None => "—",
            AccessFlags.Read => "read",
            AccessFlags.Write => "write",
            _ => "read, write",
        };
        var routes = config.Routes.Where(r => r.Value.Operation is null && r.Value.Path is not null).OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => new ConsoleRow(
            [r.Key, r.Value.Path!, r.Value.Service is { } service && config.Services.TryGetValue(service, out var target) && target.Kind == ServiceKind.Ai ? $"models ({service})" : r.Value.Service ?? "",
             .. plans.Select(p => Granted(grants[p].Routes.GetValueOrDefault(r.Key)))],
            [])).ToList();
        await Render(context, "Plans",
            new ConsoleTable("Plans", ["Plan", "Title", "Limits", "Token limits", "Approval", "Hidden", "Anonymous"], [.. summary]),
            new ConsoleTable("Operations × plans (what each plan grants: read, write or —)", ["Operation", "Method and path", "Class", .. plans], [.. rows]),
            new ConsoleTable("Routes × plans (routes bound to no operation: read, write or —)", ["Route", "Path", "Service", .. plans], routes, "No such route.")).ConfigureAwait(false);
    }

    private static async Task DiffAsync(HttpContext context, ConfigChanges changes)
    {
        if (!long.TryParse(Route(context, "from"), out var from) || !long.TryParse(Route(context, "to"), out var to) || from < 0 || to < from
            || to > await changes.Store.CurrentRevisionAsync(context.RequestAborted).ConfigureAwait(false))
        {
            await WebRender.ProblemAsync(context, Page(context, "Not found"), StatusCodes.Status404NotFound, "No such revisions.", "/console/revisions").ConfigureAwait(false);
            return;
        }

        var diff = await changes.Store.DiffAsync(from, to, context.RequestAborted).ConfigureAwait(false);
        var text = string.Join("\n\n", diff.Select(d => $"{d.Change} {d.Kind}/{d.Name}\n- {d.Before ?? "(none)"}\n+ {d.After ?? "(none)"}"));
        await WebRender.PageAsync<ConsolePage>(context, new { Page = Page(context, $"Revision {from} → {to}"), Text = text.Length == 0 ? "No changes." : text }).ConfigureAwait(false);
    }

    // Who may manage Gatehouse: the console's users and the admin API's named tokens (never a hash or a token). Changes to
    // either are in the audit log's consumer part (kinds console-user and admin-token).
    private static async Task AccessAsync(HttpContext context, ConsoleContext admin, (string Email, string Link)? invited = null, string? error = null, int status = StatusCodes.Status200OK)
    {
        var store = admin.Options.Store;
        var users = await store.ListAdminUsersAsync(context.RequestAborted).ConfigureAwait(false);
        var bound = await store.OwnersWithSsoAsync([.. users.Select(u => InviteOwner(u.Email))], context.RequestAborted).ConfigureAwait(false);
        var tokens = await store.ListAdminTokensAsync(context.RequestAborted).ConfigureAwait(false);
        var now = admin.Options.Time.GetUtcNow();
        var signedWithToken = context.User.FindFirstValue(ClaimTypes.Name) == TokenName;
        await WebRender.PageAsync<ConsolePage>(context, new
        {
            Page = Page(context, "Access", invited is not { } i ? null : admin.Options.Sso is { Only: true } sso
                ? $"Invited {i.Email}: they sign in with {sso.Name} at the address below, which is mailed to them when this console's portal sends mail."
                : $"Invited {i.Email}: the link below is mailed to them when this console's portal sends mail; it works once, for 7 days."),
            Error = error,
            Text = invited is { } shown ? "Their link, to pass on if no mail reaches them:\n" + shown.Link : null,
            InviteForm = true,
            Tables = new[]
            {
            new ConsoleTable("Console users", ["Email", "Role", "Two-step sign-in", "Single sign-on", "Created"], [.. users.Select(u => new ConsoleRow(
                [u.Email, u.Role == AdminRole.Admin ? "admin" : "viewer", u.TwoStep ? $"on ({u.RecoveryCodes?.Count ?? 0} recovery codes left)" : "off",
                    bound.Contains(InviteOwner(u.Email)) ? "bound" : "not bound", Time(u.CreatedAt)],
                [.. u.TwoStep ? [new ConsoleAction("Turn two-step off", $"/console/access/users/{Esc(u.Email)}/two-step/off", true, Confirm: true)] : (ConsoleAction[])[],
                 // The address was given to someone else at the provider: the next sign-in with it binds the user again.
                 .. bound.Contains(InviteOwner(u.Email)) ? [new ConsoleAction("Release single sign-on", $"/console/access/users/{Esc(u.Email)}/sso/release", true, Confirm: true)] : (ConsoleAction[])[],
                 new("Delete", $"/console/access/users/{Esc(u.Email)}/delete", true, Confirm: true)]))],
                "No console users; the admin API makes them (PUT /admin/users/{email})."),
            new ConsoleTable("Admin API tokens", ["Name", "Scope", "Issued", "Expires"], [.. tokens.Select(t => new ConsoleRow(
                [t.Name, Name(t.Scope), Time(t.CreatedAt), t.ExpiresAt is { } at ? Time(at) + (at <= now ? " (expired)" : "") : "never"],
                signedWithToken ? [new("Revoke", $"/console/access/tokens/{Esc(t.Name)}/revoke", true, Confirm: true)] : []))],
                "No named tokens; the admin token issues them (POST /admin/tokens)."),
            },
        }, status).ConfigureAwait(false);
    }

    private static async Task NodesAsync(HttpContext context, ConsoleContext admin)
    {
        var nodes = await admin.Options.Store.ListNodesAsync(context.RequestAborted).ConfigureAwait(false);
        var now = admin.Options.Time.GetUtcNow();
        var stale = admin.Options.NodeInterval * Nodes.NodeReporter.StaleAfterIntervals;
        await Render(context, "Nodes",
            new ConsoleTable("Gateway nodes", ["Node", "Revision", "Last seen", "State"],
                [.. nodes.Select(n => new ConsoleRow([n.Id, n.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture), Time(n.LastSeen), NodeState(n, now, stale)], []))])).ConfigureAwait(false);
    }

    // Two processes under one node id: the one that does not hold it writes no usage, so the operator must give it an id.
    private static string NodeState(Stores.NodeInfo node, DateTimeOffset now, TimeSpan stale)
    {
        var state = now - node.LastSeen > stale ? "stale" : "live";
        return Nodes.NodeEndpoints.LiveClash(node, now, stale) is { } clash
            ? $"{state}; id clash: another process also runs as this node (host {clash["host"]}, pid {clash["pid"]}) and writes no usage; give it its own --node-id"
            : state;
    }

    private static Task Render(HttpContext context, string title, params ConsoleTable[] tables) => Render(context, title, null, tables);

    private static Task Render(HttpContext context, string title, string? next, params ConsoleTable[] tables) =>
        WebRender.PageAsync<ConsolePage>(context, new { Page = Page(context, title), Tables = tables, Next = next });

    private static string Esc(string value) => Uri.EscapeDataString(value);

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture);

    private static string Name<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
