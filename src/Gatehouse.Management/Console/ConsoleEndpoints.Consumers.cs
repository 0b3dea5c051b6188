using System.Globalization;
using Gatehouse.Management.Console.Pages;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Web;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Console;

// The accounts and applications pages (issue 18: 100,000 of each): a search that works without JavaScript, read by the
// admin API's own ConsumerSearchQuery and answered by the same store query, a page at a time after the previous page's
// last row, with the search kept in every next link. No total: counting 100,000 rows took 30 to 50 ms of every page.
internal static partial class ConsoleEndpoints
{
    private static async Task AccountsAsync(HttpContext context, ConsumerService consumers)
    {
        var (search, error) = ConsumerSearchQuery.Accounts(context.Request.Query);
        if (search is null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Not done"), StatusCodes.Status400BadRequest, error!, "/console/accounts").ConfigureAwait(false);
            return;
        }

        var found = await consumers.Store.SearchAccountsAsync(search, context.Request.Query["after"].FirstOrDefault(), PageSize + 1, context.RequestAborted).ConfigureAwait(false);
        var accounts = found.Take(PageSize).ToList();
        var twoStep = await consumers.Store.AccountsWithTwoStepAsync([.. accounts.Select(a => a.Id)], context.RequestAborted).ConfigureAwait(false);
        var bound = await consumers.Store.OwnersWithSsoAsync([.. accounts.Select(a => a.Id)], context.RequestAborted).ConfigureAwait(false);
        var tokens = await consumers.Store.CountPortalTokensAsync([.. accounts.Select(a => a.Id)], context.RequestAborted).ConfigureAwait(false);
        var state = search.State is { } s ? Name(s) : null;
        (string, string?)[] kept = [("email", search.Email), ("state", state)];
        var filtered = search.Email is not null || state is not null;
        await WebRender.PageAsync<ConsolePage>(context, new
        {
            Page = Page(context, "Accounts"),
            Search = new ConsoleSearch("/console/accounts",
                [new("email", "Email: the whole address or its start, in any case", search.Email), new("state", "State", state, ["", .. Enum.GetValues<AccountState>().Select(v => Name(v))])],
                [new("all", "/console/accounts", !filtered), .. Enum.GetValues<AccountState>().Select(v => new ConsoleLink(Name(v), "/console/accounts?state=" + Name(v), search.Email is null && state == Name(v)))]),
            Tables = new[]
            {
                new ConsoleTable(filtered ? "Portal accounts found" + (search.Email is null ? ", by id" : ", by address") : "Portal accounts, by id",
                    ["Email", "Name", "State", "Two-step sign-in", "Single sign-on", "API tokens", "Id", "Signed up"], [.. accounts.Select(a => new ConsoleRow(
                    [a.Email, a.Title, Name(a.State), twoStep.Contains(a.Id) ? "on" : "off", bound.Contains(a.Id) ? "bound" : "not bound",
                        tokens.GetValueOrDefault(a.Id).ToString(CultureInfo.InvariantCulture), a.Id, Time(a.CreatedAt)],
                    [.. a.State switch
                    {
                        AccountState.Pending => [new("Approve", $"/console/accounts/{Esc(a.Id)}/approve"), new("Reject", $"/console/accounts/{Esc(a.Id)}/reject", true)],
                        AccountState.Active => [new("Suspend", $"/console/accounts/{Esc(a.Id)}/suspend", true)],
                        AccountState.Suspended => [new("Resume", $"/console/accounts/{Esc(a.Id)}/resume")],
                        // Waits for its owner to confirm the address from the mailed link; nothing for an administrator to decide.
                        _ => (ConsoleAction[])[],
                    },
                    // For an owner who lost their phone and their recovery codes.
                    .. twoStep.Contains(a.Id) ? [new ConsoleAction("Turn two-step off", $"/console/accounts/{Esc(a.Id)}/two-step/off", true, Confirm: true)] : (ConsoleAction[])[],
                    .. bound.Contains(a.Id) ? [new ConsoleAction("Release single sign-on", $"/console/accounts/{Esc(a.Id)}/sso/release", true, Confirm: true)] : (ConsoleAction[])[],
                    .. tokens.ContainsKey(a.Id) ? [new ConsoleAction("Revoke API tokens", $"/console/accounts/{Esc(a.Id)}/tokens/revoke", true, Confirm: true)] : (ConsoleAction[])[],
                    // With its applications, and its address out of the change log: for a consumer's request to be forgotten.
                    new("Delete", $"/console/accounts/{Esc(a.Id)}/delete", true, Confirm: true)]))],
                    filtered ? "No account matches." : "No account yet.",
                    found.Count > PageSize ? new ConsoleLink("Next page", Link("/console/accounts", [.. kept, ("after", accounts[^1].Id)])) : null),
            },
        }).ConfigureAwait(false);
    }

    private static async Task ApplicationsAsync(HttpContext context, ConsoleContext admin)
    {
        var (search, error) = ConsumerSearchQuery.Applications(context.Request.Query);
        if (search is null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Not done"), StatusCodes.Status400BadRequest, error!, "/console/applications").ConfigureAwait(false);
            return;
        }

        var store = admin.ConsumerService.Store;
        var found = await store.SearchApplicationsAsync(search, context.Request.Query["after"].FirstOrDefault(), PageSize + 1, context.RequestAborted).ConfigureAwait(false);
        var applications = found.Take(PageSize).ToList();
        var config = await admin.ConsumerService.ConfigAsync(context.RequestAborted).ConfigureAwait(false);
        var state = search.State is { } s ? Name(s) : null;
        (string, string?)[] kept = [("id", search.Id), ("title", search.Title), ("account", search.Account), ("plan", search.Plan), ("state", state)];
        var filtered = kept.Any(k => k.Item2 is not null);
        var keys = applications.SelectMany(a => a.Keys.Select(k => new ConsoleRow([a.Id, k.Prefix + "…", Time(k.CreatedAt), k.Expires is { } e ? Time(e) : "never"],
            [new($"Revoke {k.Prefix}…", $"/console/applications/{Esc(a.Id)}/keys/{Esc(k.Prefix)}/revoke", true)])));
        var states = Enum.GetValues<ApplicationState>().Select(v => Name(v)).ToList();
        await WebRender.PageAsync<ConsolePage>(context, new
        {
            Page = Page(context, "Applications"),
            Search = new ConsoleSearch("/console/applications",
                [
                    new("title", "Title: its start, in any case", search.Title),
                    new("id", "Application id (exact)", search.Id),
                    new("account", "Account: its id or its email address", search.Account),
                    // The plans of the config, and the one searched for should it be gone from there (its applications stay on it).
                    new("plan", "Plan", search.Plan, ["", .. (config?.Plans.Keys ?? []).Append(search.Plan ?? "").Where(p => p.Length > 0).Distinct(StringComparer.Ordinal)]),
                    new("state", "State", state, ["", .. states]),
                ],
                [new("all", "/console/applications", !filtered), .. states.Select(v => new ConsoleLink(v, "/console/applications?state=" + v, state == v && kept.Count(k => k.Item2 is not null) == 1))]),
            Tables = new[]
            {
                new ConsoleTable(filtered ? "Portal applications found" + (search.Title is not null && search.Id is null && search.Account is null ? ", by title" : ", by id") : "Portal applications, by id",
                    ["Application", "Id", "Account", "Plan", "State"], [.. applications.Select(a => new ConsoleRow(
                    [a.Title, a.Id, a.Account, a.Plan, Name(a.EffectiveState)], Decisions(a), $"/console/applications/{Esc(a.Id)}"))],
                    filtered ? "No application matches." : "No application yet.",
                    found.Count > PageSize ? new ConsoleLink("Next page", Link("/console/applications", [.. kept, ("after", applications[^1].Id)])) : null),
                new ConsoleTable("Keys of these applications", ["Application", "Key", "Created", "Expires"], [.. keys], "No key."),
            },
        }).ConfigureAwait(false);
    }

    // A console address with the given query parameters (those with a value), each encoded.
    private static string Link(string path, IEnumerable<(string Name, string? Value)> query) =>
        path + string.Concat(query.Where(q => !string.IsNullOrEmpty(q.Value)).Select((q, i) => (i == 0 ? "?" : "&") + q.Name + "=" + Esc(q.Value!)));
}
