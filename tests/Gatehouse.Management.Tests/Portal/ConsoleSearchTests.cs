using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Gatehouse.Model.Consumers;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue #18, a console for 100,000 accounts and applications: the accounts and applications pages search (GET forms, no
/// JavaScript) and page keeping the search, the admin API takes the same searches, and the revisions and the audit log
/// page back to their first entries.
/// </summary>
[Trait("Issue", "18")]
public sealed partial class ConsoleSearchTests
{
    // A page's link by its text, as a browser follows it (the href decoded).
    private static string? LinkOf(string html, string text) =>
        Regex.Match(html, $"href=\"([^\"]+)\"[^>]*>{Regex.Escape(text)}</a>") is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : null;

    private static async Task<(HttpStatusCode Status, string Html)> GetAsync(Browser browser, string path)
    {
        using var response = await browser.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ConsoleAccounts_FindByAddressOrItsStartInAnyCase_FilterByState_AndPageKeepingTheSearch()
    {
        await using var h = await PortalHarness.StartAsync();
        var now = DateTimeOffset.UtcNow;
        // 101 team accounts: one more than a page. Every third one waits for approval.
        for (var i = 0; i <= 100; i++)
        {
            Assert.True(await h.Store.InsertAccountAsync(new ConsumerAccount($"acc-t{i:000}", $"team{i:000}@example.com", $"Team {i}", null,
                i % 3 == 0 ? AccountState.Pending : AccountState.Active, "stamp", now, 1), "test"));
        }

        await h.Store.InsertAccountAsync(new ConsumerAccount("acc-other", "other@example.com", "Other", null, AccountState.Pending, "stamp", now, 1), "test");
        using var console = await ConsoleTests.ConsoleAsync(h);

        // The form is a GET form of the page itself; the state links make "pending" one click.
        var (_, all) = await GetAsync(console, "/console/accounts");
        Assert.Contains("<form method=\"get\" action=\"/console/accounts\" role=\"search\">", all, StringComparison.Ordinal);
        Assert.Equal("/console/accounts?state=pending", LinkOf(all, "pending"));

        var (status, exact) = await GetAsync(console, "/console/accounts?email=" + Uri.EscapeDataString(" Team042@Example.COM "));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("team042@example.com", exact, StringComparison.Ordinal);
        Assert.DoesNotContain("team043@example.com", exact, StringComparison.Ordinal);
        Assert.Contains("value=\"team042@example.com\"", exact, StringComparison.Ordinal); // the box shows what was searched

        // A prefix: 101 in address order, the second page by the first page's link, which keeps the search.
        var (_, first) = await GetAsync(console, "/console/accounts?email=TEAM");
        Assert.Contains("team000@example.com", first, StringComparison.Ordinal);
        Assert.Contains("team099@example.com", first, StringComparison.Ordinal);
        Assert.DoesNotContain("team100@example.com", first, StringComparison.Ordinal);
        Assert.DoesNotContain("other@example.com", first, StringComparison.Ordinal);
        var next = LinkOf(first, "Next page");
        Assert.Equal("/console/accounts?email=team&after=acc-t099", next);
        var (_, second) = await GetAsync(console, next!);
        Assert.Contains("team100@example.com", second, StringComparison.Ordinal);
        Assert.DoesNotContain("team099@example.com", second, StringComparison.Ordinal);
        Assert.Null(LinkOf(second, "Next page"));

        // Pending ones: the one click, and with an address.
        var (_, pending) = await GetAsync(console, "/console/accounts?state=pending");
        Assert.Contains("team099@example.com", pending, StringComparison.Ordinal);
        Assert.Contains("other@example.com", pending, StringComparison.Ordinal);
        Assert.DoesNotContain("team001@example.com", pending, StringComparison.Ordinal);
        Assert.Contains("aria-current=\"page\">pending<", pending, StringComparison.Ordinal);
        var (_, pendingTeam) = await GetAsync(console, "/console/accounts?email=team09&state=pending");
        Assert.Equal(["team090@example.com", "team093@example.com", "team096@example.com", "team099@example.com"],
            Regex.Matches(pendingTeam, @"<td>(team\d+@example\.com)</td>").Select(m => m.Groups[1].Value));
        Assert.Contains("No account matches.", (await GetAsync(console, "/console/accounts?email=nobody")).Html, StringComparison.Ordinal);

        // Bad values: a plain 400 page that says what is allowed, never a stack trace.
        foreach (var (path, says) in new[] { ("/console/accounts?state=waiting", "'state' is one of active, pending, suspended, unverified"), ("/console/accounts?email=" + new string('a', 255), "'email' is at most 254 characters") })
        {
            var (badStatus, bad) = await GetAsync(console, path);
            Assert.Equal(HttpStatusCode.BadRequest, badStatus);
            Assert.Contains(says, WebUtility.HtmlDecode(bad), StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", bad, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ConsoleApplications_FindByIdTitleAccountPlanAndState_AndPageKeepingTheSearch()
    {
        await using var h = await PortalHarness.StartAsync();
        var now = DateTimeOffset.UtcNow;
        await h.Store.InsertAccountAsync(new ConsumerAccount("acc-ada", "ada@example.com", "Ada", null, AccountState.Active, "stamp", now, 1), "test");
        await h.Store.InsertAccountAsync(new ConsumerAccount("acc-bob", "bob@example.com", "Bob", null, AccountState.Active, "stamp", now, 1), "test");
        async Task SaveAsync(string id, string account, string title, string plan, ApplicationState state) =>
            Assert.NotNull(await h.Store.SaveApplicationAsync(new PortalApplication(id, account, title, "", plan, state, [], now), 0, "test", "create"));
        // 101 shops of Ada's: one more than a page, in title order (Shop 000 … Shop 100).
        for (var i = 0; i <= 100; i++)
        {
            await SaveAsync($"app-s{100 - i:000}", "acc-ada", $"Shop {i:000}", "retail", ApplicationState.Live);
        }

        await SaveAsync("app-bob1", "acc-bob", "Bob's Storefront", "wholesale", ApplicationState.Pending);
        await SaveAsync("app-bob2", "acc-bob", "École", "internal", ApplicationState.Suspended);
        using var console = await ConsoleTests.ConsoleAsync(h);

        static List<string> Ids(string html) => [.. Regex.Matches(html, @"<td>(app-[a-z0-9]+)</td>").Select(m => m.Groups[1].Value).Distinct()];
        var (_, first) = await GetAsync(console, "/console/applications?title=shop");
        Assert.Equal(100, Ids(first).Count);
        Assert.Equal("app-s100", Ids(first)[0]); // Shop 000
        var next = LinkOf(first, "Next page");
        Assert.Equal("/console/applications?title=shop&after=app-s001", next);
        Assert.Equal(["app-s000"], Ids((await GetAsync(console, next!)).Html));

        Assert.Equal(["app-bob1"], Ids((await GetAsync(console, "/console/applications?title=BOB%27S")).Html));
        Assert.Equal(["app-bob2"], Ids((await GetAsync(console, "/console/applications?title=%C3%A9co")).Html));
        Assert.Equal(["app-s042"], Ids((await GetAsync(console, "/console/applications?id=app-s042")).Html));
        Assert.Empty(Ids((await GetAsync(console, "/console/applications?id=app-s04")).Html));
        Assert.Equal(["app-bob1", "app-bob2"], Ids((await GetAsync(console, "/console/applications?account=BOB%40example.com")).Html));
        Assert.Equal(["app-bob1", "app-bob2"], Ids((await GetAsync(console, "/console/applications?account=acc-bob")).Html));
        var (_, wholesale) = await GetAsync(console, "/console/applications?plan=wholesale");
        Assert.Equal(["app-bob1"], Ids(wholesale));
        Assert.Contains("<option value=\"wholesale\" selected", wholesale, StringComparison.Ordinal);
        Assert.Equal(["app-bob2"], Ids((await GetAsync(console, "/console/applications?state=suspended")).Html));
        Assert.Equal("/console/applications?state=pending", LinkOf(wholesale, "pending"));

        // Ada's by id order, paged with her address kept in the link.
        var (_, ada) = await GetAsync(console, "/console/applications?account=ada%40example.com&plan=retail&state=live");
        Assert.Equal("app-s000", Ids(ada)[0]);
        Assert.Equal("/console/applications?account=ada%40example.com&plan=retail&state=live&after=app-s099", LinkOf(ada, "Next page"));
        Assert.Equal(["app-s100"], Ids((await GetAsync(console, LinkOf(ada, "Next page")!)).Html));

        foreach (var path in new[] { "/console/applications?state=deleted", "/console/applications?title=" + new string('x', 255) })
        {
            var (status, bad) = await GetAsync(console, path);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.DoesNotContain("   at ", bad, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AdminApi_TakesTheConsolesSearches_AndRefusesBadValuesWithProblemJson()
    {
        await using var h = await PortalHarness.StartAsync();
        var now = DateTimeOffset.UtcNow;
        foreach (var (id, email) in new[] { ("acc-1", "ops.alice@example.com"), ("acc-2", "ops.bob@example.com"), ("acc-3", "dev@example.com") })
        {
            await h.Store.InsertAccountAsync(new ConsumerAccount(id, email, id, null, AccountState.Active, "stamp", now, 1), "test");
        }

        Assert.NotNull(await h.Store.SaveApplicationAsync(new PortalApplication("app-1", "acc-2", "Billing sync", "", "wholesale", ApplicationState.Live, [], now), 0, "test", "create"));
        Assert.NotNull(await h.Store.SaveApplicationAsync(new PortalApplication("app-2", "acc-2", "Billing report", "", "retail", ApplicationState.Live, [], now), 0, "test", "create"));
        using var admin = h.AdminClient();
        static List<string?> Items(string json, string field) => [.. JsonNode.Parse(json)!["items"]!.AsArray().Select(i => (string?)i![field])];

        Assert.Equal(["ops.bob@example.com"], Items(await admin.GetStringAsync("/admin/portal/accounts?email=OPS.BOB%40example.com"), "email"));
        var page = JsonNode.Parse(await admin.GetStringAsync("/admin/portal/accounts?email=ops.&limit=1"))!;
        Assert.Equal("acc-1", (string?)page["next"]);
        Assert.Equal(["ops.bob@example.com"], Items(await admin.GetStringAsync("/admin/portal/accounts?email=ops.&limit=1&after=acc-1"), "email"));
        // With an account, in id order (the account's index); by title alone, in title order.
        Assert.Equal(["app-1", "app-2"], Items(await admin.GetStringAsync("/admin/portal/applications?title=billing&account=ops.bob%40example.com"), "id"));
        Assert.Equal(["app-2", "app-1"], Items(await admin.GetStringAsync("/admin/portal/applications?title=BILLING"), "id"));
        Assert.Equal(["app-1"], Items(await admin.GetStringAsync("/admin/portal/applications?plan=wholesale"), "id"));
        Assert.Equal(["app-2"], Items(await admin.GetStringAsync("/admin/portal/applications?id=app-2&state=live"), "id"));
        Assert.Empty(Items(await admin.GetStringAsync("/admin/portal/applications?account=nobody%40example.com"), "id"));

        foreach (var path in new[] { "/admin/portal/accounts?email=" + new string('a', 255), "/admin/portal/applications?plan=" + new string('p', 255), "/admin/portal/applications?state=gone" })
        {
            using var response = await admin.GetAsync(path);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            Assert.Contains("admin-bad-parameter", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ConsoleRevisionsAndAudit_PageBackToTheFirst_TheAuditsTwoTablesApart()
    {
        await using var h = await PortalHarness.StartAsync();
        var retail = (await h.Store.ReadAsync()).Single(r => r.Kind == "plan" && r.Name == "retail");
        var revision = await h.Store.CurrentRevisionAsync();
        for (var i = 0; i < 120; i++)
        {
            var result = await h.Store.CommitAsync([new ResourceChange("plan", $"copy{i:000}", retail.Body)], revision, "test", $"copy {i:000}");
            revision = result.Revision;
        }

        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < 130; i++)
        {
            await h.Store.InsertAccountAsync(new ConsumerAccount($"acc-{i:000}", $"user{i:000}@example.com", "U", null, AccountState.Active, "stamp", now, 1), "test");
        }

        using var console = await ConsoleTests.ConsoleAsync(h);
        var revisions = new List<string>();
        var (_, html) = await GetAsync(console, "/console/revisions");
        Assert.DoesNotContain($"Roll back to {revision}<", html, StringComparison.Ordinal);
        while (true)
        {
            revisions.AddRange(Regex.Matches(html, @"<td><a href=""/console/revisions/\d+/diff/\d+"">(\d+)</a></td>|<td>(1)</td>").Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value));
            if (LinkOf(html, "Older revisions") is not { } older)
            {
                break;
            }

            Assert.StartsWith("/console/revisions?before=", older, StringComparison.Ordinal);
            html = (await GetAsync(console, older)).Html;
            // An older page's first revision is not the current one: it can be rolled back to.
            Assert.Contains($"Roll back to {revision - revisions.Count}<", html, StringComparison.Ordinal);
        }

        // Every revision once, newest first, down to 1.
        Assert.Equal(Enumerable.Range(1, (int)revision).Reverse().Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)), revisions);

        // The audit page: each table's older link keeps the other table's place.
        var (_, audit) = await GetAsync(console, "/console/audit");
        var olderConsumers = LinkOf(audit, "Older consumer changes")!;
        Assert.Matches(@"^/console/audit\?consumerBefore=\d+$", olderConsumers);
        var (_, consumerPage2) = await GetAsync(console, olderConsumers);
        var olderConfig = LinkOf(consumerPage2, "Older config changes")!;
        Assert.Matches(@"^/console/audit\?consumerBefore=\d+&configBefore=\d+$", olderConfig);
        Assert.StartsWith(olderConsumers + "&", olderConfig, StringComparison.Ordinal);
        // The same two pages, reached the other way round.
        var olderConfigFirst = LinkOf(audit, "Older config changes")!;
        Assert.Matches(@"^/console/audit\?configBefore=\d+$", olderConfigFirst);
        Assert.Equal(olderConfig, LinkOf((await GetAsync(console, olderConfigFirst)).Html, "Older consumer changes"));
        var (_, both) = await GetAsync(console, olderConfig);
        Assert.Contains("account acc-000", both, StringComparison.Ordinal); // consumers: the oldest, still on their page 2
        Assert.DoesNotContain("account acc-129", both, StringComparison.Ordinal);
        Assert.Contains("plan copy000", both, StringComparison.Ordinal); // config: page 2
        Assert.DoesNotContain("plan copy119", both, StringComparison.Ordinal);
        Assert.Null(LinkOf(both, "Older consumer changes"));
        Assert.Contains("plan copy119", audit, StringComparison.Ordinal);
        Assert.Contains("account acc-129", audit, StringComparison.Ordinal);

        var (status, bad) = await GetAsync(console, "/console/audit?configBefore=-1");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("configBefore", bad, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await GetAsync(console, "/console/revisions?before=x")).Status);
    }
}
