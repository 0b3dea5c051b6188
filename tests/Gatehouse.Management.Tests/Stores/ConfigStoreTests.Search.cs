using System.Text.RegularExpressions;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Gatehouse.Model.Consumers;

namespace Gatehouse.Management.Tests.Stores;

// Issue #18: the console's and the admin API's searches of accounts and applications, on both databases.
public abstract partial class ConfigStoreTests
{
    private async Task<PortalApplication> SaveAppAsync(string id, string account, string title, string plan = "retail", ApplicationState state = ApplicationState.Live)
    {
        var application = new PortalApplication(id, account, title, "", plan, state, [new ConsumerKey(new string('a', 64), "ghk_" + id, Clock.GetUtcNow(), null)], Clock.GetUtcNow());
        Assert.NotNull(await Store.SaveApplicationAsync(application, 0, "test", "create"));
        return application;
    }

    // Every page of a search, following "after" from each page's last row (its id), as the console's and the API's next links do.
    private static async Task<List<T>> AllPagesAsync<T>(Func<string?, Task<IReadOnlyList<T>>> page, Func<T, string> id, int size)
    {
        var all = new List<T>();
        string? after = null;
        while (true)
        {
            var rows = await page(after);
            all.AddRange(rows);
            if (rows.Count < size)
            {
                return all;
            }

            after = id(rows[^1]);
        }
    }

    private async Task<List<string>> AccountPagesAsync(AccountSearch search, int size) =>
        [.. (await AllPagesAsync(after => Store.SearchAccountsAsync(search, after, size), a => a.Id, size)).Select(a => a.Email)];

    private async Task<List<string>> ApplicationPagesAsync(ApplicationSearch search, int size) =>
        [.. (await AllPagesAsync(after => Store.SearchApplicationsAsync(search, after, size), a => a.Id, size)).Select(a => a.Id)];

    [Fact]
    [Trait("Issue", "18")]
    public async Task SearchAccounts_ByAddressPrefixInAnyCase_AndByState_PageInAddressOrderKeepingTheSearch()
    {
        // Ids in the opposite order of the addresses: a page that went by id would skip or repeat some.
        string[] emails = ["team.e@example.com", "team.d@example.com", "team.c@example.com", "team.b@example.com", "team.a@example.com", "teal@example.com", "other@example.com"];
        for (var i = 0; i < emails.Length; i++)
        {
            Assert.True(await Store.InsertAccountAsync(NewAccount($"acc-{i}", emails[i], i % 2 == 0 ? AccountState.Pending : AccountState.Active), "test"));
        }

        Assert.Equal(["team.a@example.com", "team.b@example.com", "team.c@example.com", "team.d@example.com", "team.e@example.com"], await AccountPagesAsync(new AccountSearch(Email: "TEAM."), 2));
        Assert.Equal("acc-3", Assert.Single(await Store.SearchAccountsAsync(new AccountSearch(Email: " Team.B@Example.com "), null, 100)).Id);
        Assert.Empty(await Store.SearchAccountsAsync(new AccountSearch(Email: "team.b@example.com.x"), null, 100));
        Assert.Equal(["acc-4", "acc-2", "acc-0"], (await Store.SearchAccountsAsync(new AccountSearch(AccountState.Pending, "team"), null, 100)).Select(a => a.Id));
        Assert.Equal(["team.e@example.com", "team.c@example.com", "team.a@example.com", "other@example.com"], await AccountPagesAsync(new AccountSearch(AccountState.Pending), 3));
        Assert.Empty(await Store.SearchAccountsAsync(new AccountSearch(AccountState.Suspended), null, 100));
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task SearchApplications_ByIdTitleAccountPlanAndState_PageKeepingTheSearch()
    {
        await Store.InsertAccountAsync(NewAccount("acc-1", "ada@example.com"), "test");
        await Store.InsertAccountAsync(NewAccount("acc-2", "bob@example.com"), "test");
        // Three of one title (the page after one of them goes on by id among them), one folded beyond ASCII, one deleted.
        await SaveAppAsync("app-5", "acc-1", "Shop");
        await SaveAppAsync("app-4", "acc-2", "shop", "wholesale");
        await SaveAppAsync("app-3", "acc-1", "SHOP", state: ApplicationState.Pending);
        await SaveAppAsync("app-2", "acc-2", "Shopping list", "wholesale", ApplicationState.Suspended);
        await SaveAppAsync("app-1", "acc-1", "École des Shops");
        await SaveAppAsync("app-0", "acc-2", "Other");
        var gone = await SaveAppAsync("app-9", "acc-1", "Shop gone");
        Assert.NotNull(await Store.SaveApplicationAsync(gone with { Deleted = true }, (await Store.GetApplicationAsync("app-9"))!.Seq, "test", "delete"));

        Assert.Equal(["app-3", "app-4", "app-5", "app-2"], await ApplicationPagesAsync(new ApplicationSearch(Title: "sHo"), 2));
        Assert.Equal(["app-3", "app-4", "app-5", "app-2"], await ApplicationPagesAsync(new ApplicationSearch(Title: "sho"), 1));
        Assert.Equal("app-1", Assert.Single(await Store.SearchApplicationsAsync(new ApplicationSearch(Title: "ÉCOLE"), null, 100)).Id);
        Assert.Equal("app-2", Assert.Single(await Store.SearchApplicationsAsync(new ApplicationSearch(Title: "shopping list"), null, 100)).Id);
        Assert.Equal("app-4", Assert.Single(await Store.SearchApplicationsAsync(new ApplicationSearch(Id: "app-4"), null, 100)).Id);
        Assert.Empty(await Store.SearchApplicationsAsync(new ApplicationSearch(Id: "app-"), null, 100));
        Assert.Empty(await Store.SearchApplicationsAsync(new ApplicationSearch(Id: "app-9"), null, 100));
        Assert.Equal(["app-1", "app-3", "app-5"], await ApplicationPagesAsync(new ApplicationSearch(Account: "acc-1"), 2));
        Assert.Equal(["app-1", "app-3", "app-5"], (await Store.SearchApplicationsAsync(new ApplicationSearch(Account: "ADA@example.com"), null, 100)).Select(a => a.Id));
        Assert.Empty(await Store.SearchApplicationsAsync(new ApplicationSearch(Account: "nobody@example.com"), null, 100));
        Assert.Equal(["app-3", "app-5"], (await Store.SearchApplicationsAsync(new ApplicationSearch(Title: "shop", Account: "acc-1"), null, 100)).Select(a => a.Id));
        Assert.Equal(["app-2", "app-4"], await ApplicationPagesAsync(new ApplicationSearch(Plan: "wholesale"), 1));
        Assert.Equal(["app-2"], (await Store.SearchApplicationsAsync(new ApplicationSearch(Title: "Shop", Plan: "wholesale", State: ApplicationState.Suspended), null, 100)).Select(a => a.Id));
        Assert.Equal(["app-3"], (await Store.SearchApplicationsAsync(new ApplicationSearch(State: ApplicationState.Pending), null, 100)).Select(a => a.Id));

        // A renamed application is found by its new title only; an account's deletion takes its applications' titles away.
        var renamed = (await Store.GetApplicationAsync("app-0"))!;
        await Store.SaveApplicationAsync(renamed with { Title = "Storefront" }, renamed.Seq, "test", "update");
        Assert.Equal("app-0", Assert.Single(await Store.SearchApplicationsAsync(new ApplicationSearch(Title: "store"), null, 100)).Id);
        Assert.Empty(await Store.SearchApplicationsAsync(new ApplicationSearch(Title: "other"), null, 100));
        await ExecuteSqlAsync("UPDATE consumer_applications SET deleted = 1 WHERE account = 'acc-1'");
        Assert.True(await Store.DeleteAccountAsync("acc-1", "test"));
        Assert.Equal(0, await CountSqlAsync("SELECT COUNT(*) FROM consumer_applications WHERE account = 'acc-1' AND (title <> '' OR title_key <> '')"));
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task EverySearch_ReadsAnIndex_NeverTheWholeTable()
    {
        await Store.InsertAccountAsync(NewAccount("acc-1", "ada@example.com"), "test");
        await SaveAppAsync("app-1", "acc-1", "Shop");
        var store = (SqlConfigStore)Store;
        // Bound: the columns that the index's range must be bounded by, where reading a wider range and filtering the
        // rest would pass for "an index range" (issue 18 at 100,000: a plan's applications read to the last one to find a
        // state's few, over 50 ms a page).
        var plans = new List<(string What, string Plan, string[] Bound)>
        {
            ("email", await store.ExplainAccountSearchAsync(new AccountSearch(Email: "ad"), null), []),
            ("email, next page", await store.ExplainAccountSearchAsync(new AccountSearch(Email: "ad"), "acc-1"), []),
            ("email and state", await store.ExplainAccountSearchAsync(new AccountSearch(AccountState.Pending, "ad"), null), ["state", "email"]),
            ("email and state, next page", await store.ExplainAccountSearchAsync(new AccountSearch(AccountState.Pending, "ad"), "acc-1"), ["state", "email"]),
            ("account state", await store.ExplainAccountSearchAsync(new AccountSearch(AccountState.Pending), "acc-0"), ["state"]),
            ("application id", await store.ExplainApplicationSearchAsync(new ApplicationSearch(Id: "app-1"), null), []),
            ("title", await store.ExplainApplicationSearchAsync(new ApplicationSearch(Title: "sh"), null), []),
            ("title, next page", await store.ExplainApplicationSearchAsync(new ApplicationSearch(Title: "sh"), "app-1"), []),
            ("title and plan", await store.ExplainApplicationSearchAsync(new ApplicationSearch(Title: "sh", Plan: "retail"), null), []),
            ("title and state", await store.ExplainApplicationSearchAsync(new ApplicationSearch(Title: "sh", State: ApplicationState.Pending), "app-0"), []),
            ("account id", await store.ExplainApplicationSearchAsync(new ApplicationSearch(Account: "acc-1"), null), ["account"]),
            ("account address", await store.ExplainApplicationSearchAsync(new ApplicationSearch(Account: "ada@example.com"), null), ["account"]),
            ("plan", await store.ExplainApplicationSearchAsync(new ApplicationSearch(Plan: "retail"), "app-0"), ["plan"]),
            ("plan and state", await store.ExplainApplicationSearchAsync(new ApplicationSearch(Plan: "retail", State: ApplicationState.Pending), null), ["plan", "state"]),
            ("plan and state, next page", await store.ExplainApplicationSearchAsync(new ApplicationSearch(Plan: "retail", State: ApplicationState.Suspended), "app-0"), ["plan", "state"]),
            ("application state", await store.ExplainApplicationSearchAsync(new ApplicationSearch(State: ApplicationState.Pending), null), ["state"]),
        };
        foreach (var (what, plan, bound) in plans)
        {
            // SQLite: every step a SEARCH of an index range ("SCAN" reads a whole table or index, a "TEMP B-TREE" sorts
            // every match). PostgreSQL: no "Seq Scan", and every index scan bounded by an "Index Cond".
            var lines = plan.Split('\n');
            Assert.True(this is PostgresConfigStoreTests
                ? !plan.Contains("Seq Scan", StringComparison.Ordinal)
                    && lines.Count(l => l.Contains(" Index Scan", StringComparison.Ordinal) || l.Contains("Index Only Scan", StringComparison.Ordinal) || l.TrimStart().StartsWith("Index Scan", StringComparison.Ordinal))
                        == lines.Count(l => l.Contains("Index Cond:", StringComparison.Ordinal))
                : lines.All(l => l.StartsWith("SEARCH ", StringComparison.Ordinal)),
                $"the {what} search reads more than an index range:\n{plan}");
            // The first step (the searched table's) bounded by each of them: SQLite names them "col=?" or "col>?" in its
            // SEARCH; PostgreSQL in its first Index Cond, a filter of a wider range being a "Filter:" line instead.
            var first = this is PostgresConfigStoreTests ? lines.FirstOrDefault(l => l.Contains("Index Cond:", StringComparison.Ordinal)) ?? "" : lines[0];
            Assert.True(bound.All(column => Regex.IsMatch(first, $@"\b{column}\b[^=<>]{{0,16}}[=<>]")),
                $"the {what} search's index range is not bounded by {string.Join(" and ", bound)}:\n{plan}");
        }
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task Migration27_FoldsTheTitlesOfApplicationsSavedBeforeIt_BeyondAscii()
    {
        await Store.InsertAccountAsync(NewAccount("acc-1", "ada@example.com"), "test");
        await SaveAppAsync("app-1", "acc-1", "École");
        await SaveAppAsync("app-2", "acc-1", "SHOP");
        // The store as version 26 left it: no title keys, no search indexes (and none of the later versions' columns and indexes).
        await ExecuteSqlAsync("DROP TABLE cache_purges; DROP INDEX consumer_applications_plan_state; DROP INDEX consumer_applications_title; DROP INDEX consumer_applications_plan; DROP INDEX consumer_accounts_state_email; ALTER TABLE consumer_applications DROP COLUMN title_key; ALTER TABLE nodes DROP COLUMN instance; ALTER TABLE nodes DROP COLUMN clash; DELETE FROM schema_migrations WHERE version >= 27");
        if (this is PostgresConfigStoreTests)
        {
            await ExecuteSqlAsync("DROP INDEX consumer_accounts_email_prefix");
        }

        var upgraded = await OpenAsync();

        Assert.Equal("app-1", Assert.Single(await upgraded.SearchApplicationsAsync(new ApplicationSearch(Title: "éco"), null, 100)).Id);
        Assert.Equal("app-2", Assert.Single(await upgraded.SearchApplicationsAsync(new ApplicationSearch(Title: "shop"), null, 100)).Id);
    }
}
