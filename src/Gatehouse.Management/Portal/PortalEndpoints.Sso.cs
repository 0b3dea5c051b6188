using Gatehouse.Management.Admin;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Portal;

/// <summary>
/// Signing up and in with a single sign-on provider (<c>--portal-oidc-*</c>; docs/portal.md, "Single sign-on"):
/// <c>GET /sso</c> sends the browser to the provider, ASP.NET Core's OpenID Connect handler takes its answer at
/// <c>/sso/callback</c> into a five-minute cookie, and <c>GET /sso/done</c> signs the person in to the account of the
/// address the provider vouches for, made then if there is none (<see cref="Consumers.ConsumerService.SignInWithProviderAsync"/>).
/// No password is hashed on this path, so it costs the portal a few store reads and writes. Two-step sign-in an account
/// turned on is still asked for.
/// </summary>
internal static partial class PortalEndpoints
{
    internal const string SsoScheme = "portal-oidc";
    internal const string SsoAnswerScheme = "portal-oidc-answer";

    private static void MapSso(IEndpointRouteBuilder app, PortalContext portal)
    {
        if (portal.Options.Sso is not { } sso)
        {
            return;
        }

        app.MapGet("/sso", context => SingleSignOnOptions.ChallengeAsync(context, SsoScheme, "", async e =>
        {
            LogSsoFailed(portal.Logger, Address(context), sso.Issuer, e);
            await WebRender.ProblemAsync(context, Page(context, "Not signed in"), StatusCodes.Status502BadGateway, sso.UnreachableText("sign in with your email and password"), "/login")
                .ConfigureAwait(false);
        }));
        app.MapGet("/sso/done", context => SsoDoneAsync(context, portal, sso));

        // The provider ends someone's sessions (Back-Channel Logout): the account bound to the identity it names gets a
        // new stamp, which ends every session of it, whichever way it was made, at its next request.
        app.MapPost(SingleSignOnOptions.BackChannelPath, context => sso.BackChannelLogoutAsync(context, SsoScheme, async (issuer, subject) =>
        {
            var store = portal.Consumers.Store;
            for (var attempt = 0; attempt < 3; attempt++)
            {
                if (await store.FindSsoOwnerAsync("account", issuer, subject, context.RequestAborted).ConfigureAwait(false) is not { } id
                    || await store.GetAccountAsync(id, context.RequestAborted).ConfigureAwait(false) is not { } account)
                {
                    return;
                }

                // Changed meanwhile (its version): read again, so that nothing of the change is undone.
                if (await store.UpdateAccountAsync(account with { Stamp = ConsumerService.NewStamp() }, "sso:" + issuer, "sso-logout", context.RequestAborted).ConfigureAwait(false))
                {
                    LogBackChannelLogout(portal.Logger, account.Email, issuer);
                    return;
                }
            }
        }, reason => LogBackChannelRefused(portal.Logger, Address(context), sso.Issuer, reason)));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Portal sessions of {Email} ended: the single sign-on provider {Issuer} signed them out (back-channel logout)")]
    private static partial void LogBackChannelLogout(ILogger logger, string email, string issuer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Portal back-channel logout from {Address} refused ({Issuer}): {Reason}")]
    private static partial void LogBackChannelRefused(ILogger logger, string address, string issuer, string reason);

    private static async Task SsoDoneAsync(HttpContext context, PortalContext portal, SingleSignOnOptions sso)
    {
        var (answer, idToken) = await SingleSignOnOptions.TakeAnswerAsync(context, SsoAnswerScheme).ConfigureAwait(false);
        if (answer is not { } who)
        {
            context.Response.Redirect("/login");
            return;
        }

        // An account bound before is found by the provider's identity (issuer and subject), whatever its address there
        // is now; anyone else by the verified address (an account made if there is none), then bound to that identity.
        var issuer = who.FindFirst("iss")?.Value ?? sso.Issuer;
        var subject = who.FindFirst("sub")?.Value;
        var store = portal.Consumers.Store;
        var ct = context.RequestAborted;
        ConsumerAccount? account = null;
        var created = false;
        string? email = null, refusal = null;
        var status = StatusCodes.Status403Forbidden;
        if (subject is null)
        {
            refusal = sso.NoSubject;
        }
        else if (await store.FindSsoOwnerAsync("account", issuer, subject, ct).ConfigureAwait(false) is { } owner)
        {
            account = await store.GetAccountAsync(owner, ct).ConfigureAwait(false);
            email = account?.Email ?? owner;
            refusal = account is null ? $"{sso.Name} signed you in, but the account it belongs to here is gone; sign in again to make a new one."
                : account.State == AccountState.Suspended ? ConsumerService.SuspendedAccount(account.Email).Detail : null;
        }
        else
        {
            (email, refusal) = sso.VerifiedEmail(who);
            if (refusal is null)
            {
                AdminProblem? problem;
                (account, created, problem) = await portal.Consumers.SignInWithProviderAsync(email!, who.FindFirst("name")?.Value, sso.Name, ct).ConfigureAwait(false);
                (refusal, status) = problem is null ? (null, status) : (problem.Detail, problem.Status);
            }

            if (account is not null && refusal is null)
            {
                refusal = sso.LinkRefusal(await store.LinkSsoAsync(account.Id, issuer, subject, "portal:" + account.Email, "account", ct).ConfigureAwait(false),
                    account.Email, $"DELETE /admin/portal/accounts/{account.Id}/sso");
            }
        }

        if (refusal is not null)
        {
            LogSsoRefused(portal.Logger, email ?? "someone without an address", Address(context), refusal);
            await WebRender.ProblemAsync(context, Page(context, "Not signed in"), status, refusal, "/login").ConfigureAwait(false);
            return;
        }

        if (created)
        {
            LogSsoSignUp(portal.Logger, email!, account!.Id, issuer);
        }

        if (await HasTwoStepAsync(portal, account!.Id, context.RequestAborted).ConfigureAwait(false))
        {
            await AskForCodeAsync(context, portal, account, sso: true, idToken: idToken).ConfigureAwait(false);
            return;
        }

        await SignInAsync(context, account, sso: true, idToken).ConfigureAwait(false);
        context.Response.Redirect(WebForms.ReturnUrl(context, "/") ?? "/apps");
    }

    /// <summary>The provider did not sign someone in (cancelled, refused, or an answer that does not validate): a page and a log line.</summary>
    internal static async Task SsoFailedAsync(RemoteFailureContext context)
    {
        context.HandleResponse();
        var http = context.HttpContext;
        var sso = http.RequestServices.GetRequiredService<PortalSsoOptions>().Options;
        LogSsoFailed(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Portal"), Address(http), sso.Issuer, context.Failure);
        await WebRender.ProblemAsync(http, Page(http, "Not signed in"), StatusCodes.Status403Forbidden, sso.FailureText(context), "/login").ConfigureAwait(false);
    }

    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Portal single sign-on failed from {Address} with {Issuer}")]
    private static partial void LogSsoFailed(ILogger logger, string address, string issuer, Exception? exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Portal single sign-on refused: {Email} from {Address}: {Reason}")]
    private static partial void LogSsoRefused(ILogger logger, string email, string address, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Portal sign-out at the single sign-on provider {Issuer} was not done (signed out of the portal only)")]
    private static partial void LogSsoSignOutFailed(ILogger logger, string issuer, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Portal sign-up through single sign-on: {Email} ({Account}) through {Issuer}")]
    private static partial void LogSsoSignUp(ILogger logger, string email, string account, string issuer);
}

/// <summary>The portal's single sign-on options, for the handler's failure event (registered only when there are some).</summary>
internal sealed record PortalSsoOptions(SingleSignOnOptions Options);
