using System.Security.Cryptography;
using Gatehouse.Management.Console.Pages;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Web;
using Gatehouse.Model.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Console;

/// <summary>
/// Invitations (docs/portal.md, "Inviting console users"): <c>POST /admin/users/{email}/invite</c> makes a console user
/// with no usable password (or keeps an existing one as it is) and a one-time link, valid seven days, at which the user
/// chooses their own password, so that no administrator ever knows it. The link is answered to the administrator and,
/// when the portal of this process sends mail, mailed to the user. It is bound to the user as they were when invited:
/// a change to them meanwhile (another invitation, a new password or role) voids it.
/// </summary>
internal static partial class ConsoleEndpoints
{
    internal const string InvitePurpose = "console-invite";
    internal static readonly TimeSpan InviteLifetime = TimeSpan.FromDays(7);
    private const string ResetPurpose = "console-reset";
    private static readonly TimeSpan ResetLifetime = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Where links to the console in mails point: the address and port this connection reached, as the socket says,
    /// never the request's <c>Host</c> header. Anyone may ask for a reset link, and with the Host header they chose it
    /// would point at their own server and bring them the token (password-reset poisoning).
    /// </summary>
    internal static string Origin(HttpContext context)
    {
        if (context.RequestServices.GetService(typeof(Admin.AdminApiOptions)) is Admin.AdminApiOptions { PublicUrl: { } configured })
        {
            return configured; // --console-public-url: the console as administrators reach it (behind a proxy, say)
        }

        return WebForms.ConnectionOrigin(context);
    }

    /// <summary>The token table's owner of a console user's links (portal accounts' are their ids).</summary>
    internal static string InviteOwner(string email) => "console-user:" + email;

    /// <summary>A new invitation link's token for <paramref name="user"/>, saved with the user's stamp; the token itself is never stored.</summary>
    internal static Task<string> InviteAsync(ConsumerService consumers, AdminUser user, CancellationToken cancellationToken) =>
        LinkAsync(consumers, user, InvitePurpose, InviteLifetime, cancellationToken);

    private static async Task<string> LinkAsync(ConsumerService consumers, AdminUser user, string purpose, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        await consumers.Store.SaveTokenAsync(ApiKeyHash.Sha256Hex(token), purpose, InviteOwner(user.Email), consumers.Time.GetUtcNow() + lifetime, cancellationToken,
            UserStamp(user)).ConfigureAwait(false);
        return token;
    }

    private static void MapWelcome(IEndpointRouteBuilder app, ConsumerService consumers)
    {
        app.MapGet("/console/welcome/{token}", context => Passwords(context, () => WebRender.PageAsync<ConsoleWelcome>(context, new { Page = Page(context, "Welcome to the console"), Token = Route(context, "token") })));
        app.MapPost("/console/welcome/{token}", context => Passwords(context, () => WelcomeAsync(context, consumers, Route(context, "token"), InvitePurpose)));
        app.MapGet("/console/reset", context => Passwords(context, () => WebRender.PageAsync<ConsoleReset>(context, new { Page = Page(context, "Forgot your console password?") })));
        app.MapPost("/console/reset", context => Passwords(context, () => AskResetAsync(context, consumers)));
        app.MapGet("/console/reset/{token}", context => Passwords(context, () => WebRender.PageAsync<ConsoleWelcome>(context, new { Page = Page(context, "Choose a new console password"), Token = Route(context, "token"), Action = "/console/reset/" })));
        app.MapPost("/console/reset/{token}", context => Passwords(context, () => WelcomeAsync(context, consumers, Route(context, "token"), ResetPurpose)));
    }

    // The pages where console users choose or use a password, unless only the single sign-on provider signs them in
    // (--console-oidc-only): then a page that says so (an invitation's link leads to the provider's button).
    private static Task Passwords(HttpContext context, Func<Task> next) =>
        context.RequestServices.GetRequiredService<Admin.AdminApiOptions>().Sso is { Only: true } sso
            ? WebRender.ProblemAsync(context, Page(context, "Not done"), StatusCodes.Status403Forbidden, sso.PasswordsOffText + " Sign in with the button on the sign-in page.", "/console/login")
            : next();

    // A console user who forgot their password asks for a link by mail: the same answer whether the address is a console
    // user's or not (and the same work: the link is made off the answer), counted per address and client like sign-ins.
    private static async Task AskResetAsync(HttpContext context, ConsumerService consumers)
    {
        var page = Page(context, "Forgot your console password?");
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, page, status, error!, "/console/reset").ConfigureAwait(false);
            return;
        }

        if (consumers.Notify is not { } notify)
        {
            await WebRender.PageAsync<ConsoleReset>(context, new { Page = page, Error = "This console sends no mail: ask an administrator to invite you again (a new link to choose your password)." },
                StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
            return;
        }

        var email = ConsumerService.NormalizeEmail(form.Field("email"));
        var (refused, _) = await consumers.Throttle.TryBeginAsync("console-reset:" + email, "console:" + Address(context), context.RequestAborted).ConfigureAwait(false);
        if (refused is null && ConsumerService.CheckEmail(email) is null)
        {
            // Off the answer, so that a console user's address is not told by a slower one.
            var origin = Origin(context);
            var logger = Logger(context);
            _ = Task.Run(async () =>
            {
                try
                {
                    if (await consumers.Store.GetAdminUserAsync(email, CancellationToken.None).ConfigureAwait(false) is { } user)
                    {
                        var token = await LinkAsync(consumers, user, ResetPurpose, ResetLifetime, CancellationToken.None).ConfigureAwait(false);
                        notify(new ConsumerNotice(ConsumerNoticeKind.ConsoleReset, email, Link: $"{origin}/console/reset/{token}"));
                    }
                }
                catch (Exception e) when (e is System.Data.Common.DbException or Stores.ConfigStoreException or TimeoutException or IOException)
                {
                    LogResetFailed(logger, e.Message);
                }
            }, CancellationToken.None);
        }

        await WebRender.PageAsync<ConsoleReset>(context, new
        {
            Page = page with { Notice = "If that is a console user's address, a link to choose a new password is on its way; it works once, for 30 minutes." },
        }).ConfigureAwait(false);
    }

    private static async Task WelcomeAsync(HttpContext context, ConsumerService consumers, string token, string purpose)
    {
        var page = Page(context, purpose == InvitePurpose ? "Welcome to the console" : "Choose a new console password");
        var action = purpose == InvitePurpose ? "/console/welcome/" : "/console/reset/";
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, page, status, error!, "/console/login").ConfigureAwait(false);
            return;
        }

        const string Spent = "This link is used, expired, or was replaced by another; ask an administrator for a new one.";
        var hash = ApiKeyHash.Sha256Hex(token);
        var owner = await consumers.Store.PeekTokenAsync(hash, purpose, consumers.Time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
        var user = owner is not null && owner.StartsWith("console-user:", StringComparison.Ordinal)
            ? await consumers.Store.GetAdminUserAsync(owner["console-user:".Length..], context.RequestAborted).ConfigureAwait(false)
            : null;
        if (user is null)
        {
            await WebRender.ProblemAsync(context, page, StatusCodes.Status400BadRequest, Spent, "/console/login").ConfigureAwait(false);
            return;
        }

        // The password is checked and hashed before the link is spent: a weak choice, or a busy moment, keeps it.
        var password = form.Field("password");
        if (PasswordPolicy.Check(password, user.Email) is { } weak)
        {
            await WebRender.PageAsync<ConsoleWelcome>(context, new { Page = page, Token = token, Action = action, Error = weak }, StatusCodes.Status422UnprocessableEntity).ConfigureAwait(false);
            return;
        }

        var (hashed, newHash) = await consumers.HashPasswordAsync(password, context.RequestAborted, console: true).ConfigureAwait(false);
        if (!hashed)
        {
            context.Response.Headers.RetryAfter = "5";
            await WebRender.PageAsync<ConsoleWelcome>(context, new { Page = page, Token = token, Action = action, Error = "Too many passwords are being checked at this moment; try again in a few seconds." },
                StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
            return;
        }

        var taken = await consumers.Store.TakeTokenWithDetailAsync(hash, purpose, consumers.Time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
        if (taken is not (var account, { } stamp) || account != InviteOwner(user.Email) || !SameStamp(stamp, UserStamp(user))
            || !await consumers.Store.ChangeAdminUserPasswordAsync(user.Email, user.PasswordHash, newHash, "console:" + user.Email, context.RequestAborted).ConfigureAwait(false))
        {
            await WebRender.ProblemAsync(context, page, StatusCodes.Status400BadRequest, Spent, "/console/login").ConfigureAwait(false);
            return;
        }

        var changed = user with { PasswordHash = newHash };
        if (changed.TwoStep)
        {
            // The link and a password are not the second step: sign in, with a code.
            context.Response.Redirect("/console/login?done=" + Uri.EscapeDataString("Your password is set; sign in with it and a code from your app."));
            return;
        }

        LogSignedIn(Logger(context), changed.Email, changed.Role == AdminRole.Admin ? "admin" : "viewer", Address(context),
            purpose == InvitePurpose ? "an invitation link and a new password" : "a mailed reset link and a new password");
        await SignInAsync(context, changed.Email, changed.Role == AdminRole.Admin ? "admin" : "viewer", UserStamp(changed)).ConfigureAwait(false);
        context.Response.Redirect("/console/pending");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A console password-reset link could not be made ({Reason}); the user may ask again")]
    private static partial void LogResetFailed(ILogger logger, string reason);
}
