using System.Globalization;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Portal.Pages;
using Gatehouse.Management.Web;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Portal;

// The forms that cannot be undone, or that take an application out of service, act on their second post only: the
// first, without confirm=yes (WebForms.ConfirmField, the console's "sure" field), answers a page that says what will
// happen, whose button posts the same fields again with it. A page, not a script's dialog, so that it works without
// JavaScript. The JSON API never asks: a script says what it means.
internal static partial class PortalEndpoints
{
    /// <summary>What a form asks before it acts: the page's title, what will happen, its button, and where Cancel goes.</summary>
    private sealed record Sure(string Title, string Text, string Button, string Back);

    // What to ask before a change, or null to go on at once; or the problem that refuses it (another account's
    // application is as absent here as at the change, so the question tells nothing the change would not).
    private delegate Task<(Sure? Sure, AdminProblem? Problem)> Ask(IFormCollection form);

    // True when the change may go on: the form is confirmed, or there is nothing to ask. Otherwise the question (or the
    // refusal, whose Back link goes where back says, worked out only then) is answered, and nothing is changed.
    private static async Task<bool> SureAsync(HttpContext context, IFormCollection form, Ask? ask, Func<Task<string>> back)
    {
        if (ask is null || form.Confirmed())
        {
            return true;
        }

        var (sure, problem) = await ask(form).ConfigureAwait(false);
        if (problem is not null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Not done"), problem.Status, problem.Detail, await back().ConfigureAwait(false)).ConfigureAwait(false);
            return false;
        }

        if (sure is null)
        {
            return true;
        }

        await WebRender.PageAsync<AreYouSure>(context, new
        {
            Page = Page(context, sure.Title),
            sure.Text,
            Action = (context.Request.PathBase + context.Request.Path).ToString(),
            Fields = form.Resent(),
            sure.Button,
            sure.Back,
        }).ConfigureAwait(false);
        return false;
    }

    private static string AppPath(string id) => "/apps/" + Uri.EscapeDataString(id);

    // The signed-in account's application of the route, or the problem a change of it would answer.
    private static async Task<(PortalApplication? Application, AdminProblem? Problem)> OwnAsync(HttpContext context, PortalContext portal, ConsumerAccount account)
    {
        var id = Route(context, "id");
        var application = await portal.Consumers.FindAsync(account.Id, id, context.RequestAborted).ConfigureAwait(false);
        return application is null ? (null, AdminProblem.NotFound($"Application '{id}'")) : (application, null);
    }

    private static Ask AskRevoke(HttpContext context, PortalContext portal, ConsumerAccount account) => async _ =>
    {
        var (application, problem) = await OwnAsync(context, portal, account).ConfigureAwait(false);
        var prefix = Route(context, "prefix");
        if (application is null || !application.Keys.Any(k => k.Prefix == prefix))
        {
            return (null, problem ?? AdminProblem.NotFound($"A key with prefix '{prefix}'"));
        }

        var others = application.Keys.Count > 1
            ? " The application's other keys keep working."
            : " It is the application's only key: afterwards the gateway refuses the application's calls until you make it a new one on its page. To replace a key without a gap, rotate it instead.";
        return (new Sure($"Revoke the key {prefix}…?",
            $"The key {prefix}… of {application.Title} stops working at once: the gateway answers 401 to every call that sends it. This cannot be undone.{others}",
            $"Revoke {prefix}… now", AppPath(application.Id)), null);
    };

    // Asked only where the grace is one the form offers (RotateAsync refuses any other before this is asked).
    private static Ask AskRotate(HttpContext context, PortalContext portal, ConsumerAccount account, TimeSpan grace) => async _ =>
    {
        var (application, problem) = await OwnAsync(context, portal, account).ConfigureAwait(false);
        var prefix = Route(context, "prefix");
        if (application is null || !application.Keys.Any(k => k.Prefix == prefix))
        {
            return (null, problem ?? AdminProblem.NotFound($"A key with prefix '{prefix}'"));
        }

        var text = grace == TimeSpan.Zero
            ? $"A new key is made for {application.Title}, shown once on the next page. The key {prefix}… stops working at once: the gateway answers 401 to calls that send it until your clients have the new key."
            : $"A new key is made for {application.Title}, shown once on the next page. The key {prefix}… keeps working for {Span(grace)}, then stops: the gateway answers 401 to calls that still send it.";
        return (new Sure($"Rotate the key {prefix}…?", text, $"Rotate {prefix}… now", AppPath(application.Id)), null);
    };

    private static Ask AskDelete(HttpContext context, PortalContext portal, ConsumerAccount account) => async _ =>
    {
        var (application, problem) = await OwnAsync(context, portal, account).ConfigureAwait(false);
        if (application is null)
        {
            return (null, problem);
        }

        var keys = application.Keys.Count == 1 ? "its key stops" : $"its {application.Keys.Count} keys stop";
        var clients = application.ClientIds is { Count: > 0 } ? " Tokens of its OAuth clients no longer mean it." : "";
        return (new Sure($"Delete {application.Title}?",
            $"{application.Title} is deleted and {keys} working at once: the gateway answers 401 to every call that sends {(application.Keys.Count == 1 ? "it" : "them")}.{clients} This cannot be undone.",
            "Delete the application now", AppPath(application.Id)), null);
    };

    // Only a move that takes a live application out of service is asked about: onto a plan that needs approval.
    private static Ask AskPlan(HttpContext context, PortalContext portal, ConsumerAccount account) => async form =>
    {
        var (application, problem) = await OwnAsync(context, portal, account).ConfigureAwait(false);
        if (application is null)
        {
            return (null, problem);
        }

        var plan = (await ChoicesAsync(portal, context.RequestAborted).ConfigureAwait(false)).FirstOrDefault(p => p.Name == form.Field("plan"));
        if (plan is not { ApprovalRequired: true } || plan.Name == application.Plan || application.EffectiveState != ApplicationState.Live)
        {
            return (null, null);
        }

        return (new Sure($"Move {application.Title} to {plan.Title}?",
            $"Plan {plan.Title} needs an administrator's approval. Until one approves the move, {application.Title} is pending: the gateway refuses its keys (403), so your clients' calls fail. Its keys stay the same.",
            $"Move to {plan.Title} now", AppPath(application.Id)), null);
    };

    private static Ask AskRemoveClient(HttpContext context, PortalContext portal, ConsumerAccount account) => async form =>
    {
        var (application, problem) = await OwnAsync(context, portal, account).ConfigureAwait(false);
        var clientId = form.Field("clientId");
        if (application is null || application.ClientIds?.Contains(clientId) != true)
        {
            return (null, problem ?? AdminProblem.NotFound($"A client id '{clientId}' of this application"));
        }

        var registered = portal.OAuth is not null
            && (await portal.Consumers.Store.ListOAuthClientsAsync(application.Id, context.RequestAborted).ConfigureAwait(false)).Any(c => c.ClientId == clientId);
        var provider = registered
            ? $" The portal also deletes the client at {portal.OAuth!.Issuer}, so it gets no more tokens. This cannot be undone."
            : " The client stays at its provider.";
        return (new Sure($"Remove the OAuth client {clientId}?",
            $"Tokens of the OAuth client {clientId} stop meaning {application.Title} at once: the gateway answers 401 to the calls that bring them.{provider}",
            "Remove the client now", AppPath(application.Id)), null);
    };

    private static Ask AskRevokeToken(HttpContext context, PortalContext portal, ConsumerAccount account, string name) => async _ =>
    {
        var tokens = await portal.Consumers.Store.ListPortalTokensAsync(account.Id, context.RequestAborted).ConfigureAwait(false);
        if (!tokens.Any(t => t.Name == name))
        {
            return (null, AdminProblem.NotFound($"A token named '{name}'"));
        }

        return (new Sure($"Revoke the API token {name}?",
            $"The API token {name} stops working at once: scripts that send it get 401 from the portal's API. This cannot be undone; they need a new token.",
            $"Revoke {name} now", "/tokens"), null);
    };

    // A grace as people say it: "1 hour", "24 hours", "7 days".
    private static string Span(TimeSpan span) =>
        span.TotalHours is var hours and <= 48 && hours == Math.Floor(hours) ? Unit((int)hours, "hour")
        : span.TotalDays is var days && days == Math.Floor(days) ? Unit((int)days, "day")
        : span.ToString("c", CultureInfo.InvariantCulture);

    private static string Unit(int count, string unit) => count == 1 ? "1 " + unit : $"{count.ToString(CultureInfo.InvariantCulture)} {unit}s";
}
