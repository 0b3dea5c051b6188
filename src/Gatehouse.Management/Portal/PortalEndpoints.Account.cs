using Gatehouse.Management.Consumers;
using Gatehouse.Management.Portal.Pages;
using Gatehouse.Management.Web;
using Gatehouse.Model.Access;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Portal;

// A consumer's own account: a new password or address while signed in, and deleting the account with everything it
// holds. Each asks for the password again, counted like a sign-in, so that a session left open is not enough.
internal static partial class PortalEndpoints
{
    private const string EmailPurpose = "change-email";
    private static readonly TimeSpan EmailLifetime = TimeSpan.FromHours(24);

    // The account page's forms: where an error is shown.
    private enum AccountForm
    {
        Name,
        Password,
        Email,
        Delete,
        TwoStep,
    }

    private static void MapAccount(IEndpointRouteBuilder app, PortalContext portal)
    {
        app.MapGet("/account", context => Signed(context, portal, account => AccountAsync(context, portal, account, null, StatusCodes.Status200OK,
            context.Request.Query["done"].ToString() switch
            {
                "password" => "Your password is changed; every other session is signed out.",
                "email" => "Your address is changed; every other session is signed out, and mail now goes to the new address.",
                "name" => "Your name is changed.",
                "two-step-on" => "Two-step sign-in is on; every other session is signed out. Keep the recovery codes below: they are shown only now.",
                "two-step-codes" => "New recovery codes: the old ones no longer work. They are shown only now.",
                "two-step-off" => "Two-step sign-in is off; every other session is signed out.",
                _ => null,
            })));
        app.MapPost("/account/name", context => Signed(context, portal, account => RenameAsync(context, portal, account)));
        app.MapPost("/account/password", context => Passwords(context, portal, () => Signed(context, portal, account => ChangePasswordAsync(context, portal, account))));
        app.MapPost("/account/email", context => Signed(context, portal, account => AskEmailChangeAsync(context, portal, account)));
        app.MapGet("/account/email/{token}", context => WebRender.PageAsync<Confirm>(context, ConfirmEmailPage(context, Route(context, "token"))));
        app.MapPost("/account/email/{token}", context => ChangeEmailAsync(context, portal, Route(context, "token")));
        app.MapPost("/account/delete", context => Signed(context, portal, account => DeleteAccountAsync(context, portal, account)));
    }

    private static async Task AccountAsync(HttpContext context, PortalContext portal, ConsumerAccount account, (AccountForm Form, string Text)? error, int status, string? notice = null,
        string? email = null)
    {
        var applications = await portal.Consumers.Store.ListApplicationsAsync(account.Id, null, null, 1000, context.RequestAborted).ConfigureAwait(false);
        await WebRender.PageAsync<AccountPage>(context, new
        {
            Page = Page(context, "Your account", notice),
            Account = account,
            Applications = applications.Count,
            NameError = error is (AccountForm.Name, var n) ? n : null,
            PasswordError = error is (AccountForm.Password, var p) ? p : null,
            EmailError = error is (AccountForm.Email, var e) ? e : null,
            DeleteError = error is (AccountForm.Delete, var d) ? d : null,
            TwoStepError = error is (AccountForm.TwoStep, var t) ? t : null,
            TwoStep = await TwoStepPartAsync(context, portal, account).ConfigureAwait(false),
            NewEmail = email,
        }, status).ConfigureAwait(false);
    }

    // The password checked again; false (with the page answered) when it is not right, throttled or not checked.
    private static async Task<bool> PasswordAgainAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string password, AccountForm form, string? email = null)
    {
        if (await CheckPasswordAgainAsync(context, portal, account, password).ConfigureAwait(false) is not { } refused)
        {
            return true;
        }

        await AccountAsync(context, portal, account, (form, refused.Detail), refused.Status, email: email).ConfigureAwait(false);
        return false;
    }

    // The password checked again, counted like a sign-in: null when right; else what to say and the status (401 for a
    // wrong one, 429 with Retry-After when throttled, 503 when no worker was free).
    private static async Task<(string Detail, int Status)?> CheckPasswordAgainAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string password)
    {
        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var (problem, retryAt) = await portal.Consumers.CheckPasswordAgainAsync(account, password, address, context.RequestAborted).ConfigureAwait(false);
        if (problem is null)
        {
            return null;
        }

        var detail = problem.Detail;
        if (retryAt is { } until)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling((until - portal.Consumers.Time.GetUtcNow()).TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            detail = $"Too many wrong passwords; try again in {seconds} seconds.";
        }

        Busy(context, problem.Status);
        return (detail, problem.Status == StatusCodes.Status422UnprocessableEntity ? StatusCodes.Status401Unauthorized : problem.Status);
    }

    // A form of the account page, or null with the refusal answered.
    private static async Task<IFormCollection?> AccountFormAsync(HttpContext context, string title = "Your account")
    {
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, Page(context, title), status, error!, "/account").ConfigureAwait(false);
        }

        return form;
    }

    // After a change that gave the account a new stamp (ending every session): this session is made again with it.
    private static async Task SignInAgainAsync(HttpContext context, PortalContext portal, string accountId, string done)
    {
        var changed = await portal.Consumers.Store.GetAccountAsync(accountId, context.RequestAborted).ConfigureAwait(false);
        if (changed is null)
        {
            await context.SignOutAsync(PortalHost.Scheme).ConfigureAwait(false);
            context.Response.Redirect("/login");
            return;
        }

        // A session made through single sign-on keeps the provider's ID token, for signing out there too.
        await SignInAsync(context, changed, idToken: await context.GetTokenAsync(PortalHost.Scheme, SingleSignOnOptions.IdTokenName).ConfigureAwait(false)).ConfigureAwait(false);
        context.Response.Redirect("/account?done=" + done + (done.StartsWith("two-step", StringComparison.Ordinal) ? "#two-step" : ""));
    }

    // The page a change-of-address link opens: the account's password, and the button.
    private static object ConfirmEmailPage(HttpContext context, string token, string? error = null) => new
    {
        Page = Page(context, "Confirm your new address"),
        Token = token,
        Action = "/account/email/",
        Text = "To move your account to this address, give the account's password.",
        Button = "Confirm the new address",
        Error = error,
    };

    // A name is what the account shows and the change log records; no password asked, as nothing is opened with it.
    private static async Task RenameAsync(HttpContext context, PortalContext portal, ConsumerAccount account)
    {
        if (await AccountFormAsync(context).ConfigureAwait(false) is not { } form)
        {
            return;
        }

        if (await portal.Consumers.RenameAccountAsync(account.Id, form.Field("title"), Actor(account), context.RequestAborted).ConfigureAwait(false) is { } problem)
        {
            await AccountAsync(context, portal, account, (AccountForm.Name, problem.Detail), problem.Status).ConfigureAwait(false);
            return;
        }

        context.Response.Redirect("/account?done=name");
    }

    private static async Task ChangePasswordAsync(HttpContext context, PortalContext portal, ConsumerAccount account)
    {
        if (await AccountFormAsync(context).ConfigureAwait(false) is not { } form)
        {
            return;
        }

        var password = form.Field("password");
        // The new password is checked first: a weak choice costs no attempt.
        if (PasswordPolicy.Check(password, account.Email) is { } weak)
        {
            await AccountAsync(context, portal, account, (AccountForm.Password, weak), StatusCodes.Status422UnprocessableEntity).ConfigureAwait(false);
            return;
        }

        if (!await PasswordAgainAsync(context, portal, account, form.Field("current"), AccountForm.Password).ConfigureAwait(false))
        {
            return;
        }

        if (await portal.Consumers.SetPasswordAsync(account.Id, password, Actor(account), context.RequestAborted).ConfigureAwait(false) is { } problem)
        {
            Busy(context, problem.Status);
            await AccountAsync(context, portal, account, (AccountForm.Password, problem.Detail), problem.Status).ConfigureAwait(false);
            return;
        }

        await SignInAgainAsync(context, portal, account.Id, "password").ConfigureAwait(false);
    }

    private static async Task DeleteAccountAsync(HttpContext context, PortalContext portal, ConsumerAccount account)
    {
        if (await AccountFormAsync(context).ConfigureAwait(false) is not { } form)
        {
            return;
        }

        if (!form.Confirmed())
        {
            await AccountAsync(context, portal, account, (AccountForm.Delete, "Tick the box to confirm that the account and its applications go."), StatusCodes.Status422UnprocessableEntity).ConfigureAwait(false);
            return;
        }

        if (!await PasswordAgainAsync(context, portal, account, form.Field("password"), AccountForm.Delete).ConfigureAwait(false))
        {
            return;
        }

        if (await portal.Consumers.DeleteAccountAsync(account.Id, Actor(account), context.RequestAborted).ConfigureAwait(false) is { } problem)
        {
            await AccountAsync(context, portal, account, (AccountForm.Delete, problem.Detail), problem.Status).ConfigureAwait(false);
            return;
        }

        await context.SignOutAsync(PortalHost.Scheme).ConfigureAwait(false);
        await WebRender.PageAsync<Message>(context, new
        {
            Page = Page(context, "Account deleted") with { User = null },
            Text = "Your account and its applications are deleted, and their keys no longer work.",
            Link = "/",
            LinkText = "Back to the catalogue",
        }).ConfigureAwait(false);
    }

    // A change of address is asked for here and made when the link mailed to the new address is opened with the
    // account's password: the mailbox proves the address is the owner's, and the password that whoever opened the link
    // owns the account (a mistyped address's holder must not be handed the account, which a reset would then give them).
    private static async Task AskEmailChangeAsync(HttpContext context, PortalContext portal, ConsumerAccount account)
    {
        if (await AccountFormAsync(context).ConfigureAwait(false) is not { } form)
        {
            return;
        }

        var typed = form.Field("email");
        var email = ConsumerService.NormalizeEmail(typed);
        // The address is checked first: a typing slip costs no attempt.
        var problem = ConsumerService.CheckEmail(email)?.Detail
            ?? (email == account.Email ? "That is this account's address already." : null)
            ?? (portal.Mail.Enabled ? null : "This portal cannot send mail at the moment, so a new address cannot be confirmed; try again later.");
        if (problem is not null)
        {
            var code = portal.Mail.Enabled ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status503ServiceUnavailable;
            Busy(context, code);
            await AccountAsync(context, portal, account, (AccountForm.Email, problem), code, email: typed).ConfigureAwait(false);
            return;
        }

        if (!await PasswordAgainAsync(context, portal, account, form.Field("password"), AccountForm.Email, typed).ConfigureAwait(false))
        {
            return;
        }

        // Whether the address has an account already is told to that address, never on this page.
        var id = account.Id;
        AfterResponse(context, portal, ct => SendEmailChangeAsync(portal, id, email, ct));
        await AccountAsync(context, portal, account, null, StatusCodes.Status200OK,
            $"A link to confirm {email} is on its way to that address. Your address changes when the link is opened, within 24 hours, with this account's password; until then it stays {account.Email}.").ConfigureAwait(false);
    }

    private static async Task SendEmailChangeAsync(PortalContext portal, string accountId, string email, CancellationToken cancellationToken)
    {
        var site = portal.Links.Base;
        if (await portal.Consumers.Store.FindAccountByEmailAsync(email, cancellationToken).ConfigureAwait(false) is not null)
        {
            portal.Mail.Send(email, "Someone asked to move an account to your address",
                $"Someone, perhaps you, asked to move an account of the developer portal at {site} to this address, which already has an account. Nothing was changed.\n\nIf it was not you, you can ignore this mail.\n");
            return;
        }

        var token = NewToken();
        await portal.Consumers.Store.SaveTokenAsync(ApiKeyHash.Sha256Hex(token), EmailPurpose, accountId, portal.Consumers.Time.GetUtcNow() + EmailLifetime, cancellationToken, email).ConfigureAwait(false);
        portal.Mail.Send(email, "Confirm the new address of your developer portal account",
            $"Someone, most likely you, asked to move an account of the developer portal at {site} to this address.\n\nTo confirm it, open this link within 24 hours and give the account's password:\n{site}/account/email/{token}\n\nIf it was not you, ignore this mail: nothing changes until the link is used with the password.\n");
    }

    private static async Task ChangeEmailAsync(HttpContext context, PortalContext portal, string token)
    {
        var page = Page(context, "Confirm your new address");
        if (await AccountFormAsync(context, "Confirm your new address").ConfigureAwait(false) is not { } form)
        {
            return;
        }

        const string Spent = "This link is used, expired or not one we sent; ask for the change again on your account page.";
        var hash = ApiKeyHash.Sha256Hex(token);
        var accountId = await portal.Consumers.Store.PeekTokenAsync(hash, EmailPurpose, portal.Consumers.Time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
        var account = accountId is null ? null : await portal.Consumers.Store.GetAccountAsync(accountId, context.RequestAborted).ConfigureAwait(false);
        if (account is null || account.State == AccountState.Suspended)
        {
            await WebRender.ProblemAsync(context, page, StatusCodes.Status400BadRequest, Spent, "/account").ConfigureAwait(false);
            return;
        }

        // A wrong password keeps the link (its owner may have mistyped), counted like a sign-in.
        if (await CheckPasswordAgainAsync(context, portal, account, form.Field("password")).ConfigureAwait(false) is { } refused)
        {
            await WebRender.PageAsync<Confirm>(context, ConfirmEmailPage(context, token, refused.Detail), refused.Status).ConfigureAwait(false);
            return;
        }

        var taken = await portal.Consumers.Store.TakeTokenWithDetailAsync(hash, EmailPurpose, portal.Consumers.Time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
        if (taken is not ({ } id, { } email) || id != account.Id)
        {
            await WebRender.ProblemAsync(context, page, StatusCodes.Status400BadRequest, Spent, "/account").ConfigureAwait(false);
            return;
        }

        if (await portal.Consumers.ChangeEmailAsync(account.Id, email, Actor(account), context.RequestAborted).ConfigureAwait(false) is { } problem)
        {
            await WebRender.ProblemAsync(context, page, problem.Status, problem.Detail, "/account").ConfigureAwait(false);
            return;
        }

        // The old address hears of it: if it was not its owner who asked, this is how they learn the account moved.
        portal.Mail.Send(account.Email, "Your developer portal address was changed",
            $"The address of your developer portal account at {portal.Links.Base} was changed to {email}, with the account's password; mail about it now goes there.\n\nIf it was not you, someone knows your password: write to the portal's operators at once.\n");
        if (await HasTwoStepAsync(portal, account.Id, context.RequestAborted).ConfigureAwait(false) && !SignedInAs(context, account.Id))
        {
            // The link and the password are not the second step: sign in again, with a code.
            await context.SignOutAsync(PortalHost.Scheme).ConfigureAwait(false);
            await WebRender.PageAsync<Message>(context, new { Page = page with { Title = "Address changed" }, Text = $"Your account's address is now {email}. Sign in with it, and a code from your app.", Link = "/login", LinkText = "Sign in" })
                .ConfigureAwait(false);
            return;
        }

        await SignInAgainAsync(context, portal, account.Id, "email").ConfigureAwait(false);
    }
}
