using System.Security.Claims;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Portal.Pages;
using Gatehouse.Management.Web;
using Gatehouse.Model.Config;
using Gatehouse.Model.Plans;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Portal;

// A consumer's applications and keys. Every handler takes the account from the session and passes it to the
// service, which treats another account's application exactly like one that does not exist.
internal static partial class PortalEndpoints
{
    private static void MapApplications(IEndpointRouteBuilder app, PortalContext portal)
    {
        app.MapGet("/apps", context => Gated(context, portal, account => ListAsync(context, portal, account,
            // After a delete (which redirects here): a fixed sentence, never text from the query, which anyone can link to.
            context.Request.Query["done"].ToString() == "deleted" ? "The application is deleted: its keys no longer work." : null)));
        app.MapGet("/apps/new", context => Gated(context, portal, account => NewFormAsync(context, portal, context.Request.Query["plan"].ToString(), null, null, null, StatusCodes.Status200OK)));
        app.MapPost("/apps/new", context => Gated(context, portal, account => CreateAsync(context, portal, account)));
        app.MapGet("/apps/{id}", context => Gated(context, portal, account => ShowAsync(context, portal, account, Route(context, "id"), null)));
        app.MapGet("/apps/{id}/usage.csv", context => Gated(context, portal, account => UsageCsvAsync(context, portal, account, Route(context, "id"))));
        app.MapPost("/apps/{id}/keys", context => Gated(context, portal, account => NewKeyAsync(context, portal, account, Route(context, "id"))));
        app.MapPost("/apps/{id}/keys/{prefix}/rotate", context => Gated(context, portal, account => RotateAsync(context, portal, account, Route(context, "id"), Route(context, "prefix"))));
        app.MapPost("/apps/{id}/keys/{prefix}/revoke", context => Gated(context, portal, account => ActAsync(context, portal, account, "Key revoked.", Revoke(context, portal, account), AskRevoke(context, portal, account))));
        app.MapPost("/apps/{id}/plan", context => Gated(context, portal, account => ActAsync(context, portal, account, "Plan changed.", ChangePlan(context, portal, account), AskPlan(context, portal, account))));
        app.MapPost("/apps/{id}/name", context => Gated(context, portal, account => ActAsync(context, portal, account, "Name and description changed.", Rename(context, portal, account))));
        app.MapPost("/apps/{id}/delete", context => Gated(context, portal, account => ActAsync(context, portal, account, null, Delete(context, portal, account), AskDelete(context, portal, account))));
        app.MapPost("/apps/{id}/addresses", context => Gated(context, portal, account => ActAsync(context, portal, account, "Allowed addresses changed.", SetAddresses(context, portal, account))));
        app.MapPost("/apps/{id}/oauth-clients", context => Gated(context, portal, account => RegisterClientAsync(context, portal, account, Route(context, "id"))));
        app.MapPost("/apps/{id}/oauth-clients/remove", context => Gated(context, portal, account => RemoveClientAsync(context, portal, account, Route(context, "id"))));
    }

    /// <summary>
    /// Deletes an application; the OAuth clients the portal registered for it are then deleted at the provider, off the
    /// request (the sweep of <see cref="OAuthClients"/> does it later when this cannot).
    /// </summary>
    internal static async Task<Admin.AdminProblem?> DeleteApplicationAsync(PortalContext portal, string accountId, string id, string actor, CancellationToken cancellationToken)
    {
        var problem = await portal.Consumers.DeleteApplicationAsync(accountId, id, actor, cancellationToken).ConfigureAwait(false);
        if (problem is null && portal.OAuth is { } oauth)
        {
            portal.Jobs.Enqueue(stop => oauth.DeleteUnboundAsync(id, stop));
        }

        return problem;
    }

    /// <summary>
    /// Takes a client id from an application: through <see cref="OAuthClients"/> where the portal registers clients (one
    /// it registered is deleted at the provider too: Deleted), else from the application alone.
    /// </summary>
    internal static async Task<(bool Deleted, Admin.AdminProblem? Problem)> RemoveClientIdAsync(PortalContext portal, string accountId, string id, string clientId, string actor,
        CancellationToken cancellationToken) =>
        portal.OAuth is { } oauth
            ? await oauth.RemoveAsync(accountId, id, clientId, actor, cancellationToken).ConfigureAwait(false)
            : (false, (await portal.Consumers.RemoveClientIdAsync(accountId, id, clientId, actor, cancellationToken).ConfigureAwait(false)).Problem);

    // The signed-in account (the session was validated against the store), or a redirect to sign in.
    private static async Task Signed(HttpContext context, PortalContext portal, Func<ConsumerAccount, Task> next)
    {
        var id = context.User.FindFirstValue(ClaimTypes.NameIdentifier);
        var account = id is null ? null : await portal.Consumers.Store.GetAccountAsync(id, context.RequestAborted).ConfigureAwait(false);
        if (account is null)
        {
            if (HttpMethods.IsGet(context.Request.Method))
            {
                // The whole address, query included: a page asked for with one opens as asked after signing in.
                context.Response.Redirect("/login?returnUrl=" + Uri.EscapeDataString(context.Request.PathBase + context.Request.Path + context.Request.QueryString));
                return;
            }

            await WebRender.ProblemAsync(context, Page(context, "Sign in first"), StatusCodes.Status401Unauthorized, "Your session has ended; sign in and try again.", "/login").ConfigureAwait(false);
            return;
        }

        await next(account).ConfigureAwait(false);
    }

    // The applications' pages: signed in, and, where the portal requires two-step sign-in (portal.twoStepRequired), with
    // it on; an account without it is sent to its account page to set it up (its keys still work at the gateway).
    private static Task Gated(HttpContext context, PortalContext portal, Func<ConsumerAccount, Task> next) => Signed(context, portal, async account =>
    {
        if (!context.User.HasClaim(SsoClaim, "on") && await portal.Consumers.TwoStepRequiredAsync(context.RequestAborted).ConfigureAwait(false)
            && await portal.Consumers.Store.GetAccountTwoStepAsync(account.Id, context.RequestAborted).ConfigureAwait(false) is null)
        {
            if (HttpMethods.IsGet(context.Request.Method))
            {
                context.Response.Redirect("/account#two-step");
                return;
            }

            await WebRender.ProblemAsync(context, Page(context, "Two-step sign-in required"), StatusCodes.Status403Forbidden,
                "This portal requires two-step sign-in: set it up on your account page first; nothing was changed.", "/account").ConfigureAwait(false);
            return;
        }

        await next(account).ConfigureAwait(false);
    });

    private static string Actor(ConsumerAccount account) => "portal:" + account.Email;

    private static Func<IFormCollection, Task<Admin.AdminProblem?>> Revoke(HttpContext context, PortalContext portal, ConsumerAccount account) =>
        _ => portal.Consumers.RevokeKeyAsync(account.Id, Route(context, "id"), Route(context, "prefix"), Actor(account), context.RequestAborted);

    private static Func<IFormCollection, Task<Admin.AdminProblem?>> ChangePlan(HttpContext context, PortalContext portal, ConsumerAccount account) =>
        form => portal.Consumers.ChangePlanAsync(account.Id, Route(context, "id"), form.Field("plan"), Actor(account), context.RequestAborted);

    private static Func<IFormCollection, Task<Admin.AdminProblem?>> Rename(HttpContext context, PortalContext portal, ConsumerAccount account) =>
        form => portal.Consumers.RenameApplicationAsync(account.Id, Route(context, "id"), form.Field("title"), form.Field("description"), Actor(account), context.RequestAborted);

    // One address or range per line (commas and spaces separate them too); an empty field allows any address.
    private static Func<IFormCollection, Task<Admin.AdminProblem?>> SetAddresses(HttpContext context, PortalContext portal, ConsumerAccount account) =>
        async form => (await portal.Consumers.SetAllowedAddressesAsync(account.Id, Route(context, "id"),
            form.Field("addresses").Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries), Actor(account), context.RequestAborted).ConfigureAwait(false)).Problem;

    private static Func<IFormCollection, Task<Admin.AdminProblem?>> Delete(HttpContext context, PortalContext portal, ConsumerAccount account) =>
        _ => DeleteApplicationAsync(portal, account.Id, Route(context, "id"), Actor(account), context.RequestAborted);

    private static async Task<List<PlanSummary>> ChoicesAsync(PortalContext portal, CancellationToken cancellationToken)
    {
        var config = await portal.Consumers.ConfigAsync(cancellationToken).ConfigureAwait(false) ?? new GatehouseConfig();
        return [.. ConsumerService.PublicPlans(config).Select(p => PlanSummary.Of(p.Name, p.Plan, PlanProjection.Of(p.Name, config)))];
    }

    private static async Task ListAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string? notice)
    {
        var applications = await portal.Consumers.Store.ListApplicationsAsync(account.Id, null, null, 1000, context.RequestAborted).ConfigureAwait(false);
        await WebRender.PageAsync<Apps>(context, new
        {
            Page = Page(context, "My applications", notice),
            Applications = applications,
            PlanTitles = await PlanTitlesAsync(portal, context.RequestAborted).ConfigureAwait(false),
            AccountPending = account.State == AccountState.Pending,
        }).ConfigureAwait(false);
    }

    // Each plan's title as the catalogue shows it (its name where it has none), by name.
    private static async Task<IReadOnlyDictionary<string, string>> PlanTitlesAsync(PortalContext portal, CancellationToken cancellationToken) =>
        (await portal.Consumers.ConfigAsync(cancellationToken).ConfigureAwait(false))?.Plans.ToDictionary(p => p.Key, p => p.Value.Title ?? p.Key, StringComparer.Ordinal)
            ?? new Dictionary<string, string>(StringComparer.Ordinal);

    private static async Task NewFormAsync(HttpContext context, PortalContext portal, string? plan, string? error, string? title, string? description, int status) =>
        await WebRender.PageAsync<NewApp>(context, new
        {
            Page = Page(context, "New application"),
            Plans = await ChoicesAsync(portal, context.RequestAborted).ConfigureAwait(false),
            Selected = plan,
            Error = error,
            Title = title,
            Description = description,
            MaxLifetime = await portal.Consumers.KeyLifetimeMaxAsync(context.RequestAborted).ConfigureAwait(false),
        }, status).ConfigureAwait(false);

    /// <summary>When a new key may expire, as the form offers it: never (absent or empty), or after so many days.</summary>
    internal static readonly Dictionary<string, TimeSpan?> KeyLifetimes = new(StringComparer.Ordinal)
    {
        [""] = null,
        ["30d"] = TimeSpan.FromDays(30),
        ["90d"] = TimeSpan.FromDays(90),
        ["365d"] = TimeSpan.FromDays(365),
    };

    private static async Task CreateAsync(HttpContext context, PortalContext portal, ConsumerAccount account)
    {
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, Page(context, "New application"), status, error!, "/apps/new").ConfigureAwait(false);
            return;
        }

        if (!KeyLifetimes.TryGetValue(form.Field("expires"), out var lifetime))
        {
            await NewFormAsync(context, portal, form.Field("plan"), "Choose when the key expires from the list.", form.Field("title"), form.Field("description"), StatusCodes.Status422UnprocessableEntity).ConfigureAwait(false);
            return;
        }

        var (application, key, problem) = await portal.Consumers.CreateApplicationAsync(
            account, form.Field("title"), form.Field("description"), form.Field("plan"), Actor(account), context.RequestAborted, lifetime).ConfigureAwait(false);
        if (problem is not null)
        {
            await NewFormAsync(context, portal, form.Field("plan"), problem.Detail, form.Field("title"), form.Field("description"), problem.Status).ConfigureAwait(false);
            return;
        }

        await WebRender.PageAsync<KeyShown>(context, new
        {
            Page = Page(context, "Application created"),
            Application = application!,
            Key = key!,
            Intro = $"{application!.Title} is {application.State.ToString().ToLowerInvariant()} on plan {application.Plan}. Its API key:",
        }, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    /// <summary>How many days of calls an application's page shows.</summary>
    private const int UsageDays = 30;

    /// <summary>How many of an application's latest changes its page lists.</summary>
    private const int ActivityRows = 20;

    // Who made a change, as the consumer may know it: themselves, or an administrator (never which one, nor their address).
    internal static string Who(string actor, ConsumerAccount account) =>
        actor == Actor(account) ? "you"
        : actor.StartsWith(Actor(account) + " token ", StringComparison.Ordinal) ? "you, with the API token " + actor[(Actor(account).Length + " token ".Length)..]
        : actor.StartsWith("portal:", StringComparison.Ordinal) ? "the portal" : "an administrator";

    private static async Task ShowAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string id, string? notice)
    {
        var application = await portal.Consumers.FindAsync(account.Id, id, context.RequestAborted).ConfigureAwait(false);
        if (application is null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Not found"), StatusCodes.Status404NotFound, "You have no application with this id.", "/apps").ConfigureAwait(false);
            return;
        }

        // The admin API's report of the same application (this process's: the store's rollups and the gateway's counters).
        var today = DateOnly.FromDateTime(portal.Consumers.Time.GetUtcNow().UtcDateTime);
        var usage = portal.Options.Admin.ConsumerUsage is { } source
            ? await source.GetAsync(application.Id, today.AddDays(1 - UsageDays), today, context.RequestAborted).ConfigureAwait(false)
            : null;
        var changes = await portal.Consumers.Store.ListConsumerChangesOfAsync("application", application.Id, ActivityRows, context.RequestAborted).ConfigureAwait(false);
        await WebRender.PageAsync<AppPage>(context, new
        {
            Page = Page(context, application.Title, notice),
            Application = application,
            Plans = await ChoicesAsync(portal, context.RequestAborted).ConfigureAwait(false),
            MaxLifetime = await portal.Consumers.KeyLifetimeMaxAsync(context.RequestAborted).ConfigureAwait(false),
            Now = portal.Consumers.Time.GetUtcNow(),
            Usage = usage,
            Activity = changes.Select(c => new AppActivity(c.At, Who(c.Actor, account), c.Action)).ToList(),
            OAuthIssuer = portal.OAuth?.Issuer,
            Registered = portal.OAuth is null ? (IReadOnlySet<string>)new HashSet<string>()
                : (await portal.Consumers.Store.ListOAuthClientsAsync(application.Id, context.RequestAborted).ConfigureAwait(false)).Select(r => r.ClientId).ToHashSet(StringComparer.Ordinal),
        }).ConfigureAwait(false);
    }

    // The application's calls per day as a CSV download (?from=&to=, by default the last 30 days), as the API gives it.
    private static async Task UsageCsvAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string id)
    {
        var application = await portal.Consumers.FindAsync(account.Id, id, context.RequestAborted).ConfigureAwait(false);
        var problem = application is null ? AdminProblem.NotFound("An application of yours with this id")
            : portal.Options.Admin.ConsumerUsage is null ? PortalApiEndpoints.UsageOff()
            : PortalApiEndpoints.UsageRange(context, portal.Consumers.Time) is null ? PortalApiEndpoints.BadRange()
            : null;
        if (problem is not null)
        {
            await WebRender.ProblemAsync(context, Page(context, "No usage"), problem.Status, problem.Detail, application is null ? "/apps" : AppPath(application.Id)).ConfigureAwait(false);
            return;
        }

        var (from, to) = PortalApiEndpoints.UsageRange(context, portal.Consumers.Time)!.Value;
        var report = await portal.Options.Admin.ConsumerUsage!.GetAsync(application!.Id, from, to, context.RequestAborted).ConfigureAwait(false);
        await PortalApiEndpoints.WriteCsvAsync(context, report, from, to).ConfigureAwait(false);
    }

    private static async Task RotateAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string id, string prefix)
    {
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Rotate a key"), status, error!, await BackAsync(context, portal, account, id).ConfigureAwait(false)).ConfigureAwait(false);
            return;
        }

        if (!Model.Loading.Units.TryParseDuration(form.Field("grace"), out var grace) || grace < TimeSpan.Zero || grace > TimeSpan.FromDays(30))
        {
            await WebRender.ProblemAsync(context, Page(context, "Rotate a key"), StatusCodes.Status400BadRequest, "Choose how long the old key keeps working (at most 30 days).",
                await BackAsync(context, portal, account, id).ConfigureAwait(false)).ConfigureAwait(false);
            return;
        }

        if (!await SureAsync(context, form, AskRotate(context, portal, account, grace), () => BackAsync(context, portal, account, id)).ConfigureAwait(false))
        {
            return;
        }

        var (application, key, problem) = await portal.Consumers.RotateKeyAsync(account.Id, id, prefix, grace, Actor(account), context.RequestAborted).ConfigureAwait(false);
        if (problem is not null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Rotate a key"), problem.Status, problem.Detail, await BackAsync(context, portal, account, id).ConfigureAwait(false)).ConfigureAwait(false);
            return;
        }

        await WebRender.PageAsync<KeyShown>(context, new
        {
            Page = Page(context, "Key rotated"),
            Application = application!,
            Key = key!,
            Intro = grace == TimeSpan.Zero ? $"The key {prefix}… no longer works. The new key:" : $"The key {prefix}… keeps working for {Span(grace)}. The new key:",
        }, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    // A key for an application that has none that works (ConsumerService.AddKeyAsync says when), shown once as at creation.
    private static async Task NewKeyAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string id)
    {
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        TimeSpan? lifetime = null;
        var problem = form is null ? new AdminProblem(status, "bad-form", "Not done", error!)
            : !KeyLifetimes.TryGetValue(form.Field("expires"), out lifetime) ? ConsumerService.Invalid("expires", "Choose when the key expires from the list.")
            : null;
        PortalApplication? application = null;
        string? key = null;
        if (problem is null)
        {
            (application, key, problem) = await portal.Consumers.AddKeyAsync(account, id, Actor(account), context.RequestAborted, lifetime).ConfigureAwait(false);
        }

        if (problem is not null)
        {
            await WebRender.ProblemAsync(context, Page(context, "No new key"), problem.Status, problem.Detail, await BackAsync(context, portal, account, id).ConfigureAwait(false)).ConfigureAwait(false);
            return;
        }

        await WebRender.PageAsync<KeyShown>(context, new
        {
            Page = Page(context, "Key made"),
            Application = application!,
            Key = key!,
            Intro = $"{application!.Title} is {application.State.ToString().ToLowerInvariant()} on plan {application.Plan}. Its new API key:",
        }, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    // Registers an OAuth client for the application at the provider and shows its secret, once.
    private static async Task RegisterClientAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string id)
    {
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        var problem = form is null ? new Admin.AdminProblem(status, "bad-form", "Not done", error!) : portal.OAuth is null ? PortalApiEndpoints.NoRegistration() : null;
        RegisteredClient? client = null;
        if (problem is null)
        {
            (client, problem) = await portal.OAuth!.RegisterAsync(account.Id, id, Actor(account), context.RequestAborted).ConfigureAwait(false);
        }

        if (problem is not null)
        {
            await WebRender.ProblemAsync(context, Page(context, "No OAuth client"), problem.Status, problem.Detail, await BackAsync(context, portal, account, id).ConfigureAwait(false)).ConfigureAwait(false);
            return;
        }

        await WebRender.PageAsync<ClientShown>(context, new
        {
            Page = Page(context, "OAuth client registered"),
            Client = client!,
            Audiences = await AudiencesAsync(portal, portal.OAuth!.Issuer, context.RequestAborted).ConfigureAwait(false),
        }, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    // The audiences the gateway accepts in tokens of the provider's (gateway.jwt.issuers with its issuer): what the
    // consumer asks the provider for.
    private static async Task<IReadOnlyList<string>> AudiencesAsync(PortalContext portal, string issuer, CancellationToken cancellationToken) =>
        (await portal.Consumers.ConfigAsync(cancellationToken).ConfigureAwait(false))?.Gateway.Jwt.Issuers.Values
            .Where(i => i.Issuer.TrimEnd('/') == issuer).SelectMany(i => i.Audiences).Distinct(StringComparer.Ordinal).ToList() ?? [];

    // The client id comes in the form, not the path: OAuth allows '/' in one, which a path segment would not carry whole.
    private static async Task RemoveClientAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string id)
    {
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Not done"), status, error!, await BackAsync(context, portal, account, id).ConfigureAwait(false)).ConfigureAwait(false);
            return;
        }

        if (!await SureAsync(context, form, AskRemoveClient(context, portal, account), () => BackAsync(context, portal, account, id)).ConfigureAwait(false))
        {
            return;
        }

        var clientId = form.Field("clientId");
        var (deleted, problem) = await RemoveClientIdAsync(portal, account.Id, id, clientId, Actor(account), context.RequestAborted).ConfigureAwait(false);
        if (problem is not null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Not done"), problem.Status, problem.Detail, await BackAsync(context, portal, account, id).ConfigureAwait(false)).ConfigureAwait(false);
            return;
        }

        await ShowAsync(context, portal, account, id, deleted
            ? $"OAuth client {clientId} removed: its tokens no longer mean this application, and the provider has deleted it."
            : $"OAuth client {clientId} removed: its tokens no longer mean this application.").ConfigureAwait(false);
    }

    // A change that answers with the application page (or the list, once deleted) and a notice.
    // ask: what to ask before the change (PortalEndpoints.Sure.cs), for one that cannot be undone.
    private static async Task ActAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string? notice,
        Func<IFormCollection, Task<Admin.AdminProblem?>> change, Ask? ask = null)
    {
        var id = Route(context, "id");
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Not done"), status, error!, await BackAsync(context, portal, account, id).ConfigureAwait(false)).ConfigureAwait(false);
            return;
        }

        if (!await SureAsync(context, form, ask, () => BackAsync(context, portal, account, id)).ConfigureAwait(false))
        {
            return;
        }

        var problem = await change(form).ConfigureAwait(false);
        if (problem is not null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Not done"), problem.Status, problem.Detail, await BackAsync(context, portal, account, id).ConfigureAwait(false)).ConfigureAwait(false);
            return;
        }

        if (notice is null)
        {
            context.Response.Redirect("/apps?done=deleted");
            return;
        }

        await ShowAsync(context, portal, account, id, notice).ConfigureAwait(false);
    }

    // Where a refusal's Back link goes from a form of application id: its page, where the form was, while the account
    // has it; the list once it is gone (deleted meanwhile, or never the account's), whose page would only say "not found".
    // Read on refusals only, so a change that goes through pays nothing for it.
    private static async Task<string> BackAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string id) =>
        await portal.Consumers.FindAsync(account.Id, id, context.RequestAborted).ConfigureAwait(false) is { } application ? AppPath(application.Id) : "/apps";
}

/// <summary>One line of an application's activity on its portal page.</summary>
public sealed record AppActivity(DateTimeOffset At, string Who, string What);
