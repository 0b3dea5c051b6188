using System.Diagnostics;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Config;
using Gatehouse.Model.Consumers;
using Npgsql;

namespace Gatehouse.Management.Tests.Stores;

/// <summary>
/// Issue #18: the prefix searches of addresses and titles in a PostgreSQL database whose collation is not C, as a
/// database made by a distribution's defaults is (the test cluster is C, under which any index serves a byte range). A
/// linguistic collation orders "a_b" before "a-b" and "a.b", and "ab" beside "AB": a prefix range compared in it would
/// miss or add rows, and an index kept in it cannot serve a range compared in bytes.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Issue", "18")]
public sealed class PostgresCollationSearchTests(PostgresCluster cluster)
{
    /// <summary>
    /// ICU's en-US (PostgreSQL as Debian builds it has ICU, whatever locales the machine generated), the C.UTF-8 that
    /// every glibc has (code point order, but another collation than C to the planner), and en_US.UTF-8 where
    /// <c>locale -a</c> lists it (a fresh Debian machine has only C, C.utf8 and POSIX).
    /// </summary>
    public static TheoryData<string> Collations()
    {
        var data = new TheoryData<string> { "ICU_LOCALE 'en-US' LOCALE_PROVIDER icu", "LOCALE 'C.UTF-8'" };
        if (MachineLocales().Contains("en_US.utf8"))
        {
            data.Add("LOCALE 'en_US.UTF-8'");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Collations))]
    public async Task PrefixSearches_UnderALinguisticCollation_ReadTheByteOrderIndex_AndFindTheRightRowsInByteOrder(string locale)
    {
        var connection = await cluster.CreateDatabaseAsync("TEMPLATE template0 ENCODING 'UTF8' " + locale);
        await using var store = await ConfigStores.OpenAsync(connection, TimeProvider.System);
        var now = DateTimeOffset.UtcNow;
        // Addresses as sign-up keeps them (lower case, whatever case they were typed in), with the characters that byte
        // order and a linguistic order put in different places: '-' '.' '1' '@' '_' 'b' 'é' in bytes.
        string[] typed = ["A_B@Example.com", "ab@example.com", "a-b@EXAMPLE.com", "Aé@example.com", "a.b@example.com", "A@example.com", "a1@example.com", "b@example.com"];
        for (var i = 0; i < typed.Length; i++)
        {
            Assert.True(await store.InsertAccountAsync(new ConsumerAccount($"acc-{i}", ConsumerService.NormalizeEmail(typed[i]), $"Account {i}", null,
                i % 2 == 0 ? AccountState.Pending : AccountState.Active, "stamp", now, 1), "test"));
        }

        string[] titles = ["Ab_c", "AB.c", "ab-C", "Ábc", "abc", "Other"];
        for (var i = 0; i < titles.Length; i++)
        {
            Assert.NotNull(await store.SaveApplicationAsync(new PortalApplication($"app-{i}", "acc-1", titles[i], "", "retail", ApplicationState.Live,
                [new ConsumerKey(new string((char)('a' + i), 64), $"ghk_{i}", now, null)], now), 0, "test", "create"));
        }

        // The database's collation is the one asked for: ICU's and glibc's en-US put 'a' before 'B', bytes after it.
        Assert.Equal(!locale.Contains("C.UTF-8", StringComparison.Ordinal), await ScalarAsync<bool>(connection, "SELECT 'a' < 'B'"));

        var sql = (SqlConfigStore)store;
        async Task<List<string>> AccountsAsync(AccountSearch search, int size)
        {
            var all = new List<string>();
            for (string? after = null; ;)
            {
                var page = await store.SearchAccountsAsync(search, after, size);
                all.AddRange(page.Select(a => a.Email));
                if (page.Count < size)
                {
                    return all;
                }

                after = page[^1].Id;
            }
        }

        // Every a... address in byte order, by pages of 2 and of 100, the prefix typed in any case.
        string[] bytewise = ["a-b@example.com", "a.b@example.com", "a1@example.com", "a@example.com", "a_b@example.com", "ab@example.com", "aé@example.com"];
        Assert.Equal(bytewise, await AccountsAsync(new AccountSearch(Email: "A"), 2));
        Assert.Equal(bytewise, await AccountsAsync(new AccountSearch(Email: "a"), 100));
        Assert.Equal(["a_b@example.com"], await AccountsAsync(new AccountSearch(Email: "A_"), 1));
        Assert.Equal(["a-b@example.com"], await AccountsAsync(new AccountSearch(Email: "a-"), 1));
        Assert.Equal(["a.b@example.com"], await AccountsAsync(new AccountSearch(Email: "A.B@EXAMPLE.COM"), 1));
        Assert.Equal(["aé@example.com"], await AccountsAsync(new AccountSearch(Email: "AÉ"), 1));
        Assert.Equal(["a-b@example.com", "a.b@example.com", "a1@example.com", "a_b@example.com"], await AccountsAsync(new AccountSearch(AccountState.Pending, "A"), 1));

        // Titles by their folded key, in byte order of it, by pages of 1.
        var found = new List<string>();
        for (string? after = null; ;)
        {
            var page = await store.SearchApplicationsAsync(new ApplicationSearch(Title: "AB"), after, 1);
            found.AddRange(page.Select(a => a.Title));
            if (page.Count < 1)
            {
                break;
            }

            after = page[^1].Id;
        }

        Assert.Equal(["ab-C", "AB.c", "Ab_c", "abc"], found);
        Assert.Equal("Ábc", Assert.Single(await store.SearchApplicationsAsync(new ApplicationSearch(Title: "áB"), null, 100)).Title);

        // Each on its byte-order index: an index range (no Seq Scan) read in the index's order (no Sort of the matches).
        // On a few rows the planner rightly sorts a bitmap's matches; 5,000 more under "f" (copies of a row, statistics
        // taken) make the page of 100 of them what the index is for.
        await ExecuteAsync(connection, """
            INSERT INTO consumer_accounts (id, email, title, password_hash, state, stamp, created_at, version)
                SELECT 'acc-f' || n, 'f' || lpad(n::text, 5, '0') || '@example.com', title, password_hash, CASE WHEN n % 2 = 0 THEN 'pending' ELSE 'active' END, stamp, created_at, version
                FROM consumer_accounts, generate_series(1, 5000) n WHERE id = 'acc-0';
            INSERT INTO consumer_applications (id, account, title, title_key, description, plan, state, keys, created_at, seq, deleted)
                SELECT 'app-f' || n, account, 'Filler ' || n, 'filler ' || n, description, plan, state, keys, created_at, seq, deleted
                FROM consumer_applications, generate_series(1, 5000) n WHERE id = 'app-0';
            ANALYZE consumer_accounts; ANALYZE consumer_applications;
            """);
        foreach (var (what, plan) in new[]
        {
            ("address", await sql.ExplainAccountSearchAsync(new AccountSearch(Email: "f"), null)),
            ("address, next page", await sql.ExplainAccountSearchAsync(new AccountSearch(Email: "f"), "acc-f100")),
            ("address and state", await sql.ExplainAccountSearchAsync(new AccountSearch(AccountState.Pending, "f"), null)),
            ("address and state, next page", await sql.ExplainAccountSearchAsync(new AccountSearch(AccountState.Pending, "f"), "acc-f100")),
            ("title", await sql.ExplainApplicationSearchAsync(new ApplicationSearch(Title: "fi"), null)),
            ("title, next page", await sql.ExplainApplicationSearchAsync(new ApplicationSearch(Title: "fi"), "app-f100")),
        })
        {
            Assert.True(!plan.Contains("Seq Scan", StringComparison.Ordinal) && !plan.Contains("Sort", StringComparison.Ordinal)
                && plan.Split('\n').FirstOrDefault(l => l.Contains("Index Cond:", StringComparison.Ordinal)) is { } range
                && range.Contains(what.StartsWith("title", StringComparison.Ordinal) ? "title_key" : "email", StringComparison.Ordinal),
                $"the {what} search under {locale} reads more than a range of its byte-order index:\n{plan}");
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static HashSet<string> MachineLocales()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("locale", "-a") { RedirectStandardOutput = true, UseShellExecute = false })!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return [];
        }
    }
}
