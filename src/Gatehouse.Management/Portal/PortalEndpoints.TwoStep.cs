using System.Security.Claims;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Portal.Pages;
using Gatehouse.Management.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Portal;

// Two-step sign-in for portal accounts (docs/portal.md, "Two-step sign-in"), as the console has it: an authenticator
// app's code after the password, each code taken once, ten recovery codes; turned on, renewed and off on the account
// page with the password (and, but to turn it on, a code); an administrator turns it off for a lost phone.
internal static partial class PortalEndpoints
{
    private const string TwoStepAction = "/account/two-step";

    private static void MapTwoStep(IEndpointRouteBuilder app, PortalContext portal)
    {
        app.MapPost("/login/code", context => SecondStepAsync(context, portal));
        app.MapPost(TwoStepAction, context => Signed(context, portal, account => TurnTwoStepOnAsync(context, portal, account)));
        app.MapPost(TwoStepAction + "/codes", context => Signed(context, portal, account => ChangeTwoStepAsync(context, portal, account, off: false)));
        app.MapPost(TwoStepAction + "/off", context => Signed(context, portal, account => ChangeTwoStepAsync(context, portal, account, off: true)));
    }

    // The password was right and the account has two-step sign-in: the second form, with a ticket bound to the
    // account's stamp (a password reset or any change meanwhile voids it) that lasts five minutes.
    // sso: the first step was the single sign-on provider's (the ticket says so, and the session made after the code too).
    private static Task AskForCodeAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string? error = null, int status = StatusCodes.Status200OK,
        string? ticket = null, bool sso = false, string? idToken = null) =>
        WebRender.PageAsync<LogIn>(context, new
        {
            Page = Page(context, "Sign in: second step"),
            Action = LogInAction(context, "/login/code"),
            Ticket = ticket ?? portal.TwoStep.Tickets.Protect(account.Id + "\n" + account.Stamp + (sso ? "\nsso" + (idToken is null ? "" : "\n" + idToken) : ""), TwoStepKeys.TicketLifetime),
            Error = error,
        }, status);

    private static async Task SecondStepAsync(HttpContext context, PortalContext portal)
    {
        var page = Page(context, "Sign in: second step");
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, page, status, error!, "/login").ConfigureAwait(false);
            return;
        }

        var store = portal.Consumers.Store;
        var ticket = form.Field("ticket");
        var parts = portal.TwoStep.Unprotect(portal.TwoStep.Tickets, ticket)?.Split('\n');
        var account = parts is [_, _] or [_, _, "sso"] or [_, _, "sso", _] ? await store.GetAccountAsync(parts[0], context.RequestAborted).ConfigureAwait(false) : null;
        var twoStep = account is null ? null : await store.GetAccountTwoStepAsync(account.Id, context.RequestAborted).ConfigureAwait(false);
        if (account is null || twoStep is null || account.Stamp != parts![1] || account.State is AccountState.Suspended or AccountState.Unverified)
        {
            await WebRender.ProblemAsync(context, page, StatusCodes.Status400BadRequest,
                "This sign-in has expired (it lasts five minutes) or the account was changed meanwhile; sign in again.", "/login").ConfigureAwait(false);
            return;
        }

        switch (await TryCodeAsync(context, portal, account, twoStep, form.Field("code")).ConfigureAwait(false))
        {
            case CodeOutcome.Throttled:
                await AskForCodeAsync(context, portal, account, "Too many wrong codes; wait a minute.", StatusCodes.Status429TooManyRequests, ticket).ConfigureAwait(false);
                return;
            case CodeOutcome.Wrong:
                await AskForCodeAsync(context, portal, account, "That code is not right, or was used already; type the one your app shows now.", StatusCodes.Status401Unauthorized, ticket)
                    .ConfigureAwait(false);
                return;
        }

        await SignInAsync(context, account, sso: parts.Length >= 3, idToken: parts.Length == 4 ? parts[3] : null).ConfigureAwait(false);
        context.Response.Redirect(WebForms.ReturnUrl(context, "/") ?? "/apps");
    }

    // A code, counted per account and client address (ten wrong ones a minute), then taken.
    private static Task<CodeOutcome> TryCodeAsync(HttpContext context, PortalContext portal, ConsumerAccount account, AccountTwoStep twoStep, string code) =>
        portal.Consumers.Throttle.TryCodeAsync("portal-code:" + account.Id, context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            () => TakeCodeAsync(portal, account, twoStep, code, context.RequestAborted), context.RequestAborted);

    // An authenticator's code for a step not taken before, or an unused recovery code; either is then spent.
    private static async Task<bool> TakeCodeAsync(PortalContext portal, ConsumerAccount account, AccountTwoStep twoStep, string code, CancellationToken cancellationToken)
    {
        if (code.Length is 0 or > 64)
        {
            return false;
        }

        var store = portal.Consumers.Store;
        if (TwoStep.IsRecoveryCode(code))
        {
            return await store.TakeAccountCodeAsync(account.Id, twoStep.TotpSecret, null, TwoStep.RecoveryHash(code), Actor(account), cancellationToken).ConfigureAwait(false);
        }

        return portal.TwoStep.MatchStored(twoStep.TotpSecret, code) is { } step
            && await store.TakeAccountCodeAsync(account.Id, twoStep.TotpSecret, step, null, Actor(account), cancellationToken).ConfigureAwait(false);
    }

    // The account page's two-step part: set-up while off; state, the codes just made (once) and the forms while on.
    private static async Task<TwoStepView> TwoStepPartAsync(HttpContext context, PortalContext portal, ConsumerAccount account)
    {
        var twoStep = await portal.Consumers.Store.GetAccountTwoStepAsync(account.Id, context.RequestAborted).ConfigureAwait(false);
        var required = await portal.Consumers.TwoStepRequiredAsync(context.RequestAborted).ConfigureAwait(false);
        return twoStep is null
            ? portal.TwoStep.NewSetup(TwoStepAction, context, account.Id, account.Email, required)
            : new TwoStepView(TwoStepAction, true, twoStep.RecoveryCodes.Count, null, null, null, portal.TwoStep.TakeNewCodes(context, "/account", account.Id), required);
    }

    private static async Task TurnTwoStepOnAsync(HttpContext context, PortalContext portal, ConsumerAccount account)
    {
        if (await AccountFormAsync(context).ConfigureAwait(false) is not { } form)
        {
            return;
        }

        if (portal.TwoStep.SetupSecret(form.Field("setup"), account.Id) is not { } secret)
        {
            await AccountAsync(context, portal, account, (AccountForm.TwoStep, "The set-up form is older than 15 minutes; scan the new QR code below."), StatusCodes.Status400BadRequest)
                .ConfigureAwait(false);
            return;
        }

        if (TwoStep.MatchStep(secret, form.Field("code"), portal.Consumers.Time.GetUtcNow()) is not { } step)
        {
            await AccountAsync(context, portal, account, (AccountForm.TwoStep, "That code is not right: add the key to your authenticator app again, and type the code it shows now."),
                StatusCodes.Status422UnprocessableEntity).ConfigureAwait(false);
            return;
        }

        if (!await PasswordAgainAsync(context, portal, account, form.Field("current"), AccountForm.TwoStep).ConfigureAwait(false))
        {
            return;
        }

        var protectedSecret = portal.TwoStep.Secrets.Protect(secret);
        var (codes, hashes) = TwoStep.NewRecoveryCodes();
        // Over the account as checked (a change meanwhile refuses it); the code that confirmed it is spent at once.
        if (!await portal.Consumers.Store.SetAccountTwoStepAsync(account.Id, account.Version, protectedSecret, hashes, ConsumerService.NewStamp(), Actor(account), "two-step-on",
                context.RequestAborted).ConfigureAwait(false))
        {
            await ChangedMeanwhileAsync(context, portal, account).ConfigureAwait(false);
            return;
        }

        await portal.Consumers.Store.TakeAccountCodeAsync(account.Id, protectedSecret, step, null, Actor(account), context.RequestAborted).ConfigureAwait(false);
        portal.TwoStep.PassNewCodes(context, "/account", account.Id, codes);
        await SignInAgainAsync(context, portal, account.Id, "two-step-on").ConfigureAwait(false);
    }

    // New recovery codes, or off: the password and a code (an authenticator's, or a recovery code) both.
    private static async Task ChangeTwoStepAsync(HttpContext context, PortalContext portal, ConsumerAccount account, bool off)
    {
        if (await AccountFormAsync(context).ConfigureAwait(false) is not { } form)
        {
            return;
        }

        var twoStep = await portal.Consumers.Store.GetAccountTwoStepAsync(account.Id, context.RequestAborted).ConfigureAwait(false);
        if (twoStep is null)
        {
            await AccountAsync(context, portal, account, (AccountForm.TwoStep, "Two-step sign-in is off already."), StatusCodes.Status409Conflict).ConfigureAwait(false);
            return;
        }

        if (off && await portal.Consumers.TwoStepRequiredAsync(context.RequestAborted).ConfigureAwait(false))
        {
            await AccountAsync(context, portal, account, (AccountForm.TwoStep, "This portal requires two-step sign-in of every account; it cannot be turned off."), StatusCodes.Status409Conflict)
                .ConfigureAwait(false);
            return;
        }

        if (!await PasswordAgainAsync(context, portal, account, form.Field("current"), AccountForm.TwoStep).ConfigureAwait(false))
        {
            return;
        }

        // Counted as sign-in codes are: the right password clears its own attempts, so it must not open unlimited guesses here.
        if (await TryCodeAsync(context, portal, account, twoStep, form.Field("code")).ConfigureAwait(false) is var outcome and not CodeOutcome.Taken)
        {
            await AccountAsync(context, portal, account, (AccountForm.TwoStep, outcome == CodeOutcome.Throttled ? "Too many wrong codes; wait a minute." : "That code is not right, or was used already."),
                outcome == CodeOutcome.Throttled ? StatusCodes.Status429TooManyRequests : StatusCodes.Status401Unauthorized).ConfigureAwait(false);
            return;
        }

        var (codes, hashes) = TwoStep.NewRecoveryCodes();
        if (!await portal.Consumers.Store.SetAccountTwoStepAsync(account.Id, account.Version, off ? null : twoStep.TotpSecret, off ? null : hashes, ConsumerService.NewStamp(),
                Actor(account), off ? "two-step-off" : "recovery-codes", context.RequestAborted).ConfigureAwait(false))
        {
            await ChangedMeanwhileAsync(context, portal, account).ConfigureAwait(false);
            return;
        }

        if (!off)
        {
            portal.TwoStep.PassNewCodes(context, "/account", account.Id, codes);
        }

        await SignInAgainAsync(context, portal, account.Id, off ? "two-step-off" : "two-step-codes").ConfigureAwait(false);
    }

    private static Task ChangedMeanwhileAsync(HttpContext context, PortalContext portal, ConsumerAccount account) =>
        AccountAsync(context, portal, account, (AccountForm.TwoStep, "The account was changed meanwhile (in another window?); nothing was changed. Try again."), StatusCodes.Status409Conflict);

    // A sign-in by a link (a new address confirmed with the password) is not a sign-in with the second step: with two-step
    // sign-in on, the account signs in again through /login.
    private static async Task<bool> HasTwoStepAsync(PortalContext portal, string accountId, CancellationToken cancellationToken) =>
        await portal.Consumers.Store.GetAccountTwoStepAsync(accountId, cancellationToken).ConfigureAwait(false) is not null;

    private static bool SignedInAs(HttpContext context, string accountId) =>
        context.User.Identity?.IsAuthenticated == true && context.User.FindFirstValue(ClaimTypes.NameIdentifier) == accountId;
}
