using Gatehouse.Management.Consumers;
using Gatehouse.Management.Portal.Pages;
using Gatehouse.Management.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Portal;

// A consumer's own account: a new password while signed in, and deleting the account with everything it holds. Both
// ask for the password again, counted like a sign-in, so that a session left open is not enough.
internal static partial class PortalEndpoints
{
    private static void MapAccount(IEndpointRouteBuilder app, PortalContext portal)
    {
        app.MapGet("/account", context => Signed(context, portal, account => AccountAsync(context, portal, account, null, null, StatusCodes.Status200OK,
            context.Request.Query["done"] == "password" ? "Your password is changed; every other session is signed out." : null)));
        app.MapPost("/account/password", context => Signed(context, portal, account => ChangePasswordAsync(context, portal, account)));
        app.MapPost("/account/delete", context => Signed(context, portal, account => DeleteAccountAsync(context, portal, account)));
    }

    private static async Task AccountAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string? passwordError, string? deleteError, int status, string? notice = null)
    {
        var applications = await portal.Consumers.Store.ListApplicationsAsync(account.Id, null, null, 1000, context.RequestAborted).ConfigureAwait(false);
        await WebRender.PageAsync<AccountPage>(context, new
        {
            Page = Page(context, "Your account", notice),
            Account = account,
            Applications = applications.Count,
            PasswordError = passwordError,
            DeleteError = deleteError,
        }, status).ConfigureAwait(false);
    }

    // The password checked again; false (with the page answered) when it is not right, throttled or not checked.
    private static async Task<bool> PasswordAgainAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string password, bool forDelete)
    {
        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var (problem, retryAt) = await portal.Consumers.CheckPasswordAgainAsync(account, password, address, context.RequestAborted).ConfigureAwait(false);
        if (problem is null)
        {
            return true;
        }

        var detail = problem.Detail;
        if (retryAt is { } until)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling((until - portal.Consumers.Time.GetUtcNow()).TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            detail = $"Too many wrong passwords; try again in {seconds} seconds.";
        }

        Busy(context, problem.Status);
        var status = problem.Status == StatusCodes.Status422UnprocessableEntity ? StatusCodes.Status401Unauthorized : problem.Status;
        await AccountAsync(context, portal, account, forDelete ? null : detail, forDelete ? detail : null, status).ConfigureAwait(false);
        return false;
    }

    private static async Task ChangePasswordAsync(HttpContext context, PortalContext portal, ConsumerAccount account)
    {
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Your account"), status, error!, "/account").ConfigureAwait(false);
            return;
        }

        var password = form.Field("password");
        // The new password is checked first: a weak choice costs no attempt.
        if (PasswordPolicy.Check(password, account.Email) is { } weak)
        {
            await AccountAsync(context, portal, account, weak, null, StatusCodes.Status422UnprocessableEntity).ConfigureAwait(false);
            return;
        }

        if (!await PasswordAgainAsync(context, portal, account, form.Field("current"), forDelete: false).ConfigureAwait(false))
        {
            return;
        }

        if (await portal.Consumers.SetPasswordAsync(account.Id, password, Actor(account), context.RequestAborted).ConfigureAwait(false) is { } problem)
        {
            Busy(context, problem.Status);
            await AccountAsync(context, portal, account, problem.Detail, null, problem.Status).ConfigureAwait(false);
            return;
        }

        // The new stamp ended every session of the account; this one is made again with it.
        var changed = await portal.Consumers.Store.GetAccountAsync(account.Id, context.RequestAborted).ConfigureAwait(false);
        if (changed is null)
        {
            await context.SignOutAsync(PortalHost.Scheme).ConfigureAwait(false);
            context.Response.Redirect("/login");
            return;
        }

        await SignInAsync(context, changed).ConfigureAwait(false);
        context.Response.Redirect("/account?done=password");
    }

    private static async Task DeleteAccountAsync(HttpContext context, PortalContext portal, ConsumerAccount account)
    {
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Your account"), status, error!, "/account").ConfigureAwait(false);
            return;
        }

        if (form.Field("confirm") != "yes")
        {
            await AccountAsync(context, portal, account, null, "Tick the box to confirm that the account and its applications go.", StatusCodes.Status422UnprocessableEntity).ConfigureAwait(false);
            return;
        }

        if (!await PasswordAgainAsync(context, portal, account, form.Field("password"), forDelete: true).ConfigureAwait(false))
        {
            return;
        }

        if (await portal.Consumers.DeleteAccountAsync(account.Id, Actor(account), context.RequestAborted).ConfigureAwait(false) is { } problem)
        {
            await AccountAsync(context, portal, account, null, problem.Detail, problem.Status).ConfigureAwait(false);
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
}
