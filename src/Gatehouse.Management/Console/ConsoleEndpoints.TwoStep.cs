using System.Security.Claims;
using System.Security.Cryptography;
using Gatehouse.Management.Console.Pages;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Console;

/// <summary>
/// Two-step sign-in for console users (docs/portal.md, "Two-step sign-in"). A user turns it on at <c>/console/account</c>
/// by scanning a QR code into an authenticator app and typing a code from it with their password; they are given ten
/// recovery codes, shown once. Signing in then takes the password and, on a second form, a code (or a recovery code).
/// The secret is kept protected with the console's Data Protection keys; a code is taken once. An administrator turns it
/// off for a user who lost their phone (<c>DELETE /admin/users/{email}/two-step</c>, or the Access page); the store
/// setting <c>console.twoStepRequired</c> sends every console user without it to set it up before anything else.
/// </summary>
internal static partial class ConsoleEndpoints
{
    /// <summary>The store setting that, when "true", requires two-step sign-in of every console user.</summary>
    public const string TwoStepRequiredSetting = "console.twoStepRequired";

    private static void MapTwoStep(IEndpointRouteBuilder app, ConsoleContext admin, TwoStepKeys keys)
    {
        var consumers = admin.ConsumerService;
        app.MapPost("/console/login/code", context => SecondStepAsync(context, consumers, keys));
        app.MapPost("/console/account/two-step", context => TurnOnAsync(context, consumers, keys));
        app.MapPost("/console/account/two-step/off", context => ChangeTwoStepAsync(context, consumers, keys, off: true));
        app.MapPost("/console/account/two-step/codes", context => ChangeTwoStepAsync(context, consumers, keys, off: false));
        app.MapPost("/console/accounts/{id}/two-step/off", context => Change(context, async actor =>
        {
            var id = Route(context, "id");
            await Done(context, Task.FromResult(await consumers.Store.SetAccountTwoStepAsync(id, null, null, null, ConsumerService.NewStamp(), actor, "two-step-off", context.RequestAborted)
                .ConfigureAwait(false) ? null : Admin.AdminProblem.NotFound($"Account '{id}'")), "/console/accounts").ConfigureAwait(false);
        }, confirm: true));
        app.MapPost("/console/access/users/{email}/two-step/off", context => Change(context, async actor =>
        {
            var email = Route(context, "email");
            await Done(context, Task.FromResult(await consumers.Store.SetAdminUserTwoStepAsync(email, null, null, null, actor, context.RequestAborted).ConfigureAwait(false)
                ? null : Admin.AdminProblem.NotFound($"Console user '{email}'")), "/console/access").ConfigureAwait(false);
        }, confirm: true));
    }

    // The password was right and the user has two-step sign-in: the second form, with a ticket that says so for a few
    // minutes (bound to the user's stamp, so a password or two-step change meanwhile voids it).
    // The ticket also says how the first step was passed (a password, or single sign-on), for the sign-in's log line.
    private static Task AskForCodeAsync(HttpContext context, TwoStepKeys keys, AdminUser user, string? error = null, int status = StatusCodes.Status200OK, string? ticket = null,
        FirstStep first = FirstStep.Password, string? idToken = null) =>
        WebRender.PageAsync<ConsoleLogin>(context, new
        {
            Page = Page(context, "Sign in to the console: second step"),
            Action = LogInAction(context, "/console/login/code"),
            Ticket = ticket ?? keys.Tickets.Protect(user.Email + "\n" + UserStamp(user) + (first == FirstStep.SingleSignOn ? "\nsso" + (idToken is null ? "" : "\n" + idToken) : ""), TwoStepKeys.TicketLifetime),
            Error = error,
        }, status);

    private static async Task SecondStepAsync(HttpContext context, ConsumerService consumers, TwoStepKeys keys)
    {
        var page = Page(context, "Sign in to the console: second step");
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, page, status, error!, "/console/login").ConfigureAwait(false);
            return;
        }

        var ticket = form.Field("ticket");
        var parts = keys.Unprotect(keys.Tickets, ticket)?.Split('\n');
        var user = parts is [_, _] or [_, _, "sso"] or [_, _, "sso", _] ? await consumers.Store.GetAdminUserAsync(parts[0], context.RequestAborted).ConfigureAwait(false) : null;
        if (parts is null || user is null || !SameStamp(UserStamp(user), parts[1]) || !user.TwoStep)
        {
            await WebRender.ProblemAsync(context, page, StatusCodes.Status400BadRequest,
                "This sign-in has expired (it lasts five minutes) or the user was changed meanwhile; sign in again.", "/console/login").ConfigureAwait(false);
            return;
        }

        var code = form.Field("code");
        switch (await TryCodeAsync(context, consumers, keys, user, code).ConfigureAwait(false))
        {
            case CodeOutcome.Throttled:
                LogRefused(Logger(context), user.Email, Address(context), "too many wrong codes");
                await AskForCodeAsync(context, keys, user, "Too many wrong codes; wait a minute.", StatusCodes.Status429TooManyRequests, ticket).ConfigureAwait(false);
                return;
            case CodeOutcome.Wrong:
                LogRefused(Logger(context), user.Email, Address(context), "a wrong or used code");
                await AskForCodeAsync(context, keys, user, "That code is not right, or was used already; type the one your app shows now.", StatusCodes.Status401Unauthorized, ticket)
                    .ConfigureAwait(false);
                return;
        }

        LogSignedIn(Logger(context), user.Email, user.Role == AdminRole.Admin ? "admin" : "viewer", Address(context),
            (parts.Length >= 3 ? "single sign-on" : "a password") + (TwoStep.IsRecoveryCode(code) ? " and a recovery code" : " and an authenticator code"));
        await SignInAsync(context, user.Email, user.Role == AdminRole.Admin ? "admin" : "viewer", UserStamp(user), twoStep: true, sso: parts.Length >= 3, idToken: parts.Length == 4 ? parts[3] : null).ConfigureAwait(false);
        context.Response.Redirect(WebForms.ReturnUrl(context, "/console/") ?? "/console/pending");
    }

    // A code, counted per user and client address (ten wrong ones a minute), then taken.
    private static Task<CodeOutcome> TryCodeAsync(HttpContext context, ConsumerService consumers, TwoStepKeys keys, AdminUser user, string code) =>
        consumers.Throttle.TryCodeAsync("console-code:" + user.Email, "console:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown"),
            () => TakeCodeAsync(consumers, keys, user, code, context.RequestAborted), context.RequestAborted);

    // An authenticator's code for a step not taken before, or an unused recovery code; either is then spent.
    private static async Task<bool> TakeCodeAsync(ConsumerService consumers, TwoStepKeys keys, AdminUser user, string code, CancellationToken cancellationToken)
    {
        if (user.TotpSecret is not { } stored || code.Length is 0 or > 64)
        {
            return false;
        }

        if (TwoStep.IsRecoveryCode(code))
        {
            return await consumers.Store.TakeAdminUserCodeAsync(user.Email, stored, null, TwoStep.RecoveryHash(code), cancellationToken).ConfigureAwait(false);
        }

        return keys.MatchStored(stored, code) is { } step
            && await consumers.Store.TakeAdminUserCodeAsync(user.Email, stored, step, null, cancellationToken).ConfigureAwait(false);
    }

    // The account page's two-step part: set-up (a new secret, its QR code, and a form) while off; state and forms while on.
    private static TwoStepView TwoStepPart(HttpContext context, TwoStepKeys keys, AdminUser user, bool required, IReadOnlyList<string>? newCodes = null) =>
        user.TwoStep
            ? new TwoStepView("/console/account/two-step", true, user.RecoveryCodes?.Count ?? 0, null, null, null, newCodes, required)
            : keys.NewSetup("/console/account/two-step", context, user.Email, user.Email, required);

    private static async Task TurnOnAsync(HttpContext context, ConsumerService consumers, TwoStepKeys keys)
    {
        if (await OwnChangeAsync(context, consumers) is not { } own)
        {
            return;
        }

        var (form, user) = own;
        if (keys.SetupSecret(form.Field("setup"), user.Email) is not { } secret)
        {
            await AccountAsync(context, "The set-up form is older than 15 minutes; scan the new QR code below.", StatusCodes.Status400BadRequest, keys: keys).ConfigureAwait(false);
            return;
        }

        if (user.TwoStep)
        {
            await AccountAsync(context, null, StatusCodes.Status200OK, "Two-step sign-in is on already.", keys).ConfigureAwait(false);
            return;
        }

        if (TwoStep.MatchStep(secret, form.Field("code"), keys.Time.GetUtcNow()) is not { } step)
        {
            await AccountAsync(context, "That code is not right: add the key to your authenticator app again, and type the code it shows now.",
                StatusCodes.Status422UnprocessableEntity, keys: keys).ConfigureAwait(false);
            return;
        }

        var protectedSecret = keys.Secrets.Protect(secret);
        var (codes, hashes) = TwoStep.NewRecoveryCodes();
        // Only over the record the password was checked against; the code that confirmed it is spent at once.
        if (!await consumers.Store.SetAdminUserTwoStepAsync(user.Email, user.PasswordHash, protectedSecret, hashes, "console:" + user.Email, context.RequestAborted).ConfigureAwait(false))
        {
            await ChangedMeanwhileAsync(context).ConfigureAwait(false);
            return;
        }

        await consumers.Store.TakeAdminUserCodeAsync(user.Email, protectedSecret, step, null, context.RequestAborted).ConfigureAwait(false);
        await ShowNewCodesAsync(context, consumers, keys, user.Email, codes,
            "Two-step sign-in is on. Every other session of yours is signed out. Keep the recovery codes below: they are shown only now.").ConfigureAwait(false);
    }

    // Off, or new recovery codes: the password and a code (an authenticator's, or a recovery code) both.
    private static async Task ChangeTwoStepAsync(HttpContext context, ConsumerService consumers, TwoStepKeys keys, bool off)
    {
        if (await OwnChangeAsync(context, consumers) is not { } own)
        {
            return;
        }

        var (form, user) = own;
        if (!user.TwoStep)
        {
            await AccountAsync(context, "Two-step sign-in is off already.", StatusCodes.Status409Conflict, keys: keys).ConfigureAwait(false);
            return;
        }

        if (off && await consumers.Store.GetSettingAsync(TwoStepRequiredSetting, context.RequestAborted).ConfigureAwait(false) == "true")
        {
            await AccountAsync(context, "Two-step sign-in is required of every console user here; an administrator may turn the requirement off.",
                StatusCodes.Status409Conflict, keys: keys).ConfigureAwait(false);
            return;
        }

        // Counted as sign-in codes are: the right password clears its own attempts, so it must not open unlimited guesses here.
        if (await TryCodeAsync(context, consumers, keys, user, form.Field("code")).ConfigureAwait(false) is var outcome and not CodeOutcome.Taken)
        {
            await AccountAsync(context, outcome == CodeOutcome.Throttled ? "Too many wrong codes; wait a minute." : "That code is not right, or was used already.",
                outcome == CodeOutcome.Throttled ? StatusCodes.Status429TooManyRequests : StatusCodes.Status401Unauthorized, keys: keys).ConfigureAwait(false);
            return;
        }

        // The code's use moved the step or spent a recovery code, not the secret: the record is the one checked.
        var (codes, hashes) = TwoStep.NewRecoveryCodes();
        if (!await consumers.Store.SetAdminUserTwoStepAsync(user.Email, user.PasswordHash, off ? null : user.TotpSecret, off ? null : hashes, "console:" + user.Email,
                context.RequestAborted).ConfigureAwait(false))
        {
            await ChangedMeanwhileAsync(context).ConfigureAwait(false);
            return;
        }

        if (off)
        {
            await ReSignInAsync(context, consumers, user.Email).ConfigureAwait(false);
            context.Response.Redirect("/console/account?done=" + Uri.EscapeDataString("Two-step sign-in is off; every other session of yours is signed out."));
            return;
        }

        await ShowNewCodesAsync(context, consumers, keys, user.Email, codes, "New recovery codes: the old ones no longer work. They are shown only now.").ConfigureAwait(false);
    }

    private static async Task ShowNewCodesAsync(HttpContext context, ConsumerService consumers, TwoStepKeys keys, string email, string[] codes, string notice)
    {
        await ReSignInAsync(context, consumers, email).ConfigureAwait(false);
        keys.PassNewCodes(context, "/console/account", email, codes);
        context.Response.Redirect("/console/account?done=" + Uri.EscapeDataString(notice) + "#two-step");
    }

    // The session is made again with the changed user's stamp (the change ended every session, this one too).
    private static async Task ReSignInAsync(HttpContext context, ConsumerService consumers, string email)
    {
        if (await consumers.Store.GetAdminUserAsync(email, context.RequestAborted).ConfigureAwait(false) is { } changed)
        {
            await SignInAsync(context, changed.Email, changed.Role == AdminRole.Admin ? "admin" : "viewer", UserStamp(changed), changed.TwoStep).ConfigureAwait(false);
        }
    }

    private static async Task ChangedMeanwhileAsync(HttpContext context)
    {
        await context.SignOutAsync(Scheme).ConfigureAwait(false);
        await WebRender.ProblemAsync(context, Page(context, "Your account"), StatusCodes.Status409Conflict,
            "Your console user was changed or deleted meanwhile; nothing was changed. Sign in again.", "/console/login").ConfigureAwait(false);
    }

    // A change to one's own two-step sign-in: a signed-in console user (not the admin token), a valid form, and the
    // current password (counted like a sign-in). Null when refused; the answer is then written.
    private static async Task<(Microsoft.AspNetCore.Http.IFormCollection Form, AdminUser User)?> OwnChangeAsync(HttpContext context, ConsumerService consumers)
    {
        var page = Page(context, "Your account");
        var email = context.User.FindFirstValue(ClaimTypes.Name);
        if (context.User.Identity?.IsAuthenticated != true || email is null)
        {
            await WebRender.ProblemAsync(context, page, StatusCodes.Status401Unauthorized, "Sign in first.", "/console/login").ConfigureAwait(false);
            return null;
        }

        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, page, status, error!, "/console/account").ConfigureAwait(false);
            return null;
        }

        if (email == TokenName)
        {
            await WebRender.ProblemAsync(context, page, StatusCodes.Status400BadRequest, "The admin token has no two-step sign-in; console users do.", "/console/account").ConfigureAwait(false);
            return null;
        }

        var address = "console:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        var (refused, attempt) = await consumers.Throttle.TryBeginAsync("console:" + email, address, context.RequestAborted).ConfigureAwait(false);
        if (refused is not null)
        {
            await AccountAsync(context, "Too many wrong passwords; wait a minute.", StatusCodes.Status429TooManyRequests).ConfigureAwait(false);
            return null;
        }

        var user = await consumers.Store.GetAdminUserAsync(email, context.RequestAborted).ConfigureAwait(false);
        var (checkedIt, right) = await consumers.CheckConsolePasswordAsync(attempt!, user?.PasswordHash, form.Field("current"), context.RequestAborted).ConfigureAwait(false);
        if (!checkedIt)
        {
            context.Response.Headers.RetryAfter = "5";
            await AccountAsync(context, "Too many passwords are being checked at this moment; try again in a few seconds.", StatusCodes.Status503ServiceUnavailable).ConfigureAwait(false);
            return null;
        }

        if (!right)
        {
            await AccountAsync(context, "The current password is not right.", StatusCodes.Status401Unauthorized).ConfigureAwait(false);
            return null;
        }

        await consumers.Throttle.SucceededAsync(attempt!).ConfigureAwait(false);
        return (form, user!);
    }

    private static bool SameStamp(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(a), System.Text.Encoding.ASCII.GetBytes(b));
}
