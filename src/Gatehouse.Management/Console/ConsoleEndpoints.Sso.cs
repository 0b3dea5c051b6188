using Gatehouse.Management.Consumers;
using Gatehouse.Management.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Console;

/// <summary>
/// Single sign-on (<see cref="SingleSignOnOptions"/>): <c>GET /console/sso</c> sends the browser to the provider, ASP.NET
/// Core's OpenID Connect handler takes its answer at <c>/console/sso/callback</c> (state, nonce, PKCE, the ID token's
/// signature, issuer, audience and lifetime) into a five-minute cookie, and <c>GET /console/sso/done</c> turns that into
/// a console session, or says plainly why not. Who may come in is Gatehouse's to say, not the provider's: the address
/// the provider vouches for must be a console user's, and the session is that user's, with their role, ended like any
/// other when they are changed or removed. A user with two-step sign-in on is asked for a code after the provider too;
/// <c>console.twoStepRequired</c> does not hold such sessions (the provider answers for its own second factor).
/// </summary>
internal static partial class ConsoleEndpoints
{
    internal const string SsoScheme = "console-oidc";
    internal const string SsoAnswerScheme = "console-oidc-answer";

    private static void MapSso(IEndpointRouteBuilder app, ConsumerService consumers, TwoStepKeys keys, SingleSignOnOptions? sso)
    {
        if (sso is null)
        {
            return;
        }

        app.MapGet("/console/sso", context => SingleSignOnOptions.ChallengeAsync(context, SsoScheme, "/console", async e =>
        {
            LogSsoFailed(Logger(context), Address(context), sso.Issuer, e);
            await WebRender.ProblemAsync(context, Page(context, "Not signed in"), StatusCodes.Status502BadGateway, sso.UnreachableText("sign in with a password"), "/console/login")
                .ConfigureAwait(false);
        }));
        app.MapGet("/console/sso/done", context => SsoDoneAsync(context, consumers, keys, sso));

        // The provider ends someone's sessions (Back-Channel Logout): every console session of the user bound to the
        // identity it names, whichever way it was made, at its next request.
        app.MapPost("/console" + SingleSignOnOptions.BackChannelPath, context => sso.BackChannelLogoutAsync(context, SsoScheme, async (issuer, subject) =>
        {
            if (await consumers.Store.FindSsoOwnerAsync("console-user", issuer, subject, context.RequestAborted).ConfigureAwait(false) is { } owner
                && await consumers.Store.EndAdminUserSessionsAsync(owner["console-user:".Length..], "sso:" + issuer, "sso-logout", context.RequestAborted).ConfigureAwait(false))
            {
                LogBackChannelLogout(Logger(context), owner["console-user:".Length..], issuer);
            }
        }, reason => LogBackChannelRefused(Logger(context), Address(context), sso.Issuer, reason)));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Console sessions of {Email} ended: the single sign-on provider {Issuer} signed them out (back-channel logout)")]
    private static partial void LogBackChannelLogout(ILogger logger, string email, string issuer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Console back-channel logout from {Address} refused ({Issuer}): {Reason}")]
    private static partial void LogBackChannelRefused(ILogger logger, string address, string issuer, string reason);

    private static async Task SsoDoneAsync(HttpContext context, ConsumerService consumers, TwoStepKeys keys, SingleSignOnOptions sso)
    {
        var (answer, idToken) = await SingleSignOnOptions.TakeAnswerAsync(context, SsoAnswerScheme).ConfigureAwait(false);
        if (answer is not { } who)
        {
            context.Response.Redirect("/console/login");
            return;
        }

        // Someone bound before is found by the provider's identity (issuer and subject), whatever their address there is
        // now; anyone else by the verified address, and then bound to the identity that came with it.
        var issuer = who.FindFirst("iss")?.Value ?? sso.Issuer;
        var subject = who.FindFirst("sub")?.Value;
        string? email = null, refusal = null;
        AdminUser? user = null;
        var store = consumers.Store;
        var ct = context.RequestAborted;
        if (subject is null)
        {
            refusal = sso.NoSubject;
        }
        else if (await store.FindSsoOwnerAsync("console-user", issuer, subject, ct).ConfigureAwait(false) is { } owner)
        {
            email = owner["console-user:".Length..];
            if ((user = await store.GetAdminUserAsync(email, ct).ConfigureAwait(false)) is null)
            {
                refusal = $"{sso.Name} signed you in as {email}, but the console has no user with that address.";
            }
        }
        else
        {
            (email, refusal) = sso.VerifiedEmail(who);
            if (refusal is null && (user = await store.GetAdminUserAsync(email!, ct).ConfigureAwait(false)) is null)
            {
                refusal = $"{sso.Name} signed you in as {email}, but the console has no user with that address. An administrator can invite it (Access page, or POST /admin/users/{{email}}/invite).";
            }
            else if (refusal is null)
            {
                refusal = sso.LinkRefusal(await store.LinkSsoAsync(InviteOwner(user!.Email), issuer, subject, "console:" + user.Email, "console-user", ct).ConfigureAwait(false),
                    user.Email, $"DELETE /admin/users/{user.Email}/sso");
            }
        }

        if (refusal is not null)
        {
            // The address came from the provider, not from a stranger's typing, so it is named: whoever runs the console
            // needs to know who tried.
            LogRefused(Logger(context), email ?? "someone without an address", Address(context), $"single sign-on through {issuer}: " + refusal);
            await WebRender.ProblemAsync(context, Page(context, "Not signed in"), StatusCodes.Status403Forbidden, refusal, "/console/login").ConfigureAwait(false);
            return;
        }

        if (user!.TwoStep)
        {
            await AskForCodeAsync(context, keys, user, first: FirstStep.SingleSignOn, idToken: idToken).ConfigureAwait(false);
            return;
        }

        var role = user.Role == AdminRole.Admin ? "admin" : "viewer";
        LogSignedIn(Logger(context), user.Email, role, Address(context), $"single sign-on through {issuer}");
        await SignInAsync(context, user.Email, role, UserStamp(user), sso: true, idToken: idToken).ConfigureAwait(false);
        context.Response.Redirect(WebForms.ReturnUrl(context, "/console/") ?? "/console/pending");
    }

    /// <summary>
    /// The provider answered with an error (the person cancelled, the client is not allowed, the code could not be
    /// redeemed, a token did not validate): a page that says so and a log line, never the handler's exception.
    /// </summary>
    internal static async Task SsoFailedAsync(RemoteFailureContext context)
    {
        context.HandleResponse();
        var http = context.HttpContext;
        var sso = http.RequestServices.GetRequiredService<Admin.AdminApiOptions>().Sso!;
        var reason = sso.FailureText(context);
        LogSsoFailed(Logger(http), Address(http), sso.Issuer, context.Failure);
        await WebRender.ProblemAsync(http, Page(http, "Not signed in"), StatusCodes.Status403Forbidden, reason, "/console/login").ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Console sign-out at the single sign-on provider {Issuer} was not done (signed out of the console only)")]
    private static partial void LogSsoSignOutFailed(ILogger logger, string issuer, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Console single sign-on failed from {Address} with {Issuer}")]
    private static partial void LogSsoFailed(ILogger logger, string address, string issuer, Exception? exception);

    /// <summary>How the first step of a sign-in that needs a code was passed: the ticket says, for the log.</summary>
    private enum FirstStep
    {
        Password,
        SingleSignOn,
    }
}
