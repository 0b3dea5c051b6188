using System.Data.Common;
using Gatehouse.Management.Consumers;

namespace Gatehouse.Management.Stores;

// The console's and the admin API's searches of accounts and applications (issue 18: 100,000 of each). Each search is
// built from the parts given only, so that both planners see a plain equality or range on an indexed column: a
// "(@x = '' OR col = @x)" keeps them off the index and scans every row. Pages are keyset pages ("after" is the id of the
// previous page's last row), never OFFSET, so page 500 costs what page 1 does.
internal abstract partial class SqlConfigStore
{
    // Above every character a prefix can be followed by: "prefix" <= s < "prefix" + this is "s starts with prefix", in
    // the byte order of UTF-8 (SQLite's BINARY, PostgreSQL's "C"), which is code point order.
    private const string PrefixEnd = "\U0010FFFF";

    /// <summary>
    /// A text column compared byte by byte, as prefix ranges need: PostgreSQL compares in the database's collation
    /// otherwise (en_US puts "a-c" after "a.", and a range would miss rows); SQLite's default BINARY already does.
    /// </summary>
    protected virtual string Ordinal(string column) => column;

    /// <summary>
    /// A column that a condition must not choose the index by: SQLite, without statistics, would rather read every
    /// application of a plan and sort them than a title's range; PostgreSQL weighs both by its statistics.
    /// </summary>
    protected virtual string Unindexed(string column) => column;

    /// <summary>The database's plan of a query (tests hold each search to an index with it).</summary>
    internal abstract Task<string> ExplainAsync(string sql, (string Name, object? Value)[] parameters, CancellationToken cancellationToken);

    public async Task<IReadOnlyList<ConsumerAccount>> SearchAccountsAsync(AccountSearch search, string? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(search);
        CheckLimit(limit);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var (sql, parameters) = await AccountSearchSqlAsync(connection, search, after, limit, cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<ConsumerAccount>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(Account(reader));
        }

        return result;
    }

    public async Task<IReadOnlyList<PortalApplication>> SearchApplicationsAsync(ApplicationSearch search, string? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(search);
        CheckLimit(limit);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (await ApplicationSearchSqlAsync(connection, search, after, limit, cancellationToken).ConfigureAwait(false) is not var (where, parameters))
        {
            return [];
        }

        return await ReadApplicationsAsync(connection, null, where, cancellationToken, parameters).ConfigureAwait(false);
    }

    /// <summary>The plan of an account search as <see cref="SearchAccountsAsync"/> runs it.</summary>
    internal async Task<string> ExplainAccountSearchAsync(AccountSearch search, string? after, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var (sql, parameters) = await AccountSearchSqlAsync(connection, search, after, 100, cancellationToken).ConfigureAwait(false);
        return await ExplainAsync(sql, parameters, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The plan of an application search as <see cref="SearchApplicationsAsync"/> runs it ("" when it reads nothing).</summary>
    internal async Task<string> ExplainApplicationSearchAsync(ApplicationSearch search, string? after, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ApplicationSearchSqlAsync(connection, search, after, 100, cancellationToken).ConfigureAwait(false) is var (where, parameters)
            ? await ExplainAsync($"SELECT {ApplicationColumns} FROM consumer_applications a LEFT JOIN consumer_accounts c ON c.id = a.account WHERE {where}", parameters, cancellationToken).ConfigureAwait(false)
            : "";
    }

    private async Task<(string Sql, (string Name, object? Value)[] Parameters)> AccountSearchSqlAsync(
        DbConnection connection, AccountSearch search, string? after, int limit, CancellationToken cancellationToken)
    {
        var where = new List<string>();
        var parameters = new List<(string Name, object? Value)> { ("limit", limit) };
        var order = "id";
        if (ConsumerService.NormalizeEmail(search.Email ?? "") is { Length: > 0 } prefix)
        {
            // In address order (the address index's), so the page after an account starts after its address. Should that
            // account be gone or have another address meanwhile, the search starts over rather than skip or end early.
            var email = Ordinal("email");
            var last = after is null ? null : await ScalarAsync(connection, null, "SELECT email FROM consumer_accounts WHERE id = @id", cancellationToken, ("id", after)).ConfigureAwait(false) as string;
            where.Add(last is not null && last.StartsWith(prefix, StringComparison.Ordinal) ? $"{email} > @from" : $"{email} >= @from");
            where.Add($"{email} < @end");
            parameters.Add(("from", last is not null && last.StartsWith(prefix, StringComparison.Ordinal) ? last : prefix));
            parameters.Add(("end", prefix + PrefixEnd));
            order = email;
        }
        else
        {
            where.Add("id > @after");
            parameters.Add(("after", after ?? ""));
        }

        if (search.State is { } state)
        {
            where.Add("state = @state");
            parameters.Add(("state", Name(state)));
        }

        return ($"SELECT {AccountColumns} FROM consumer_accounts WHERE {string.Join(" AND ", where)} ORDER BY {order} LIMIT @limit", [.. parameters]);
    }

    // The WHERE of ReadApplicationsAsync with its ORDER BY and LIMIT; null when nothing can match (an account address
    // that no account has).
    private async Task<(string Where, (string Name, object? Value)[] Parameters)?> ApplicationSearchSqlAsync(
        DbConnection connection, ApplicationSearch search, string? after, int limit, CancellationToken cancellationToken)
    {
        var where = new List<string> { "a.deleted = 0" };
        var parameters = new List<(string Name, object? Value)> { ("limit", limit), ("after", after ?? "") };
        var account = string.IsNullOrEmpty(search.Account) ? null : search.Account;
        if (account is not null && account.Contains('@', StringComparison.Ordinal))
        {
            account = await ScalarAsync(connection, null, "SELECT id FROM consumer_accounts WHERE email = @email", cancellationToken,
                ("email", ConsumerService.NormalizeEmail(account))).ConfigureAwait(false) as string;
            if (account is null)
            {
                return null;
            }
        }

        var id = string.IsNullOrEmpty(search.Id) ? null : search.Id;
        var order = "a.id";
        var byId = true;
        if (!string.IsNullOrEmpty(search.Title))
        {
            var prefix = ApplicationSearch.Fold(search.Title);
            var key = Ordinal("a.title_key");
            where.Add($"{key} < @end");
            parameters.Add(("end", prefix + PrefixEnd));
            if (id is null && account is null)
            {
                // In title order (the title index's): the page after an application starts after its title, and after its
                // id among applications of the same title. Gone or renamed meanwhile: the search starts over.
                var last = after is null ? null : await ScalarAsync(connection, null, "SELECT title_key FROM consumer_applications WHERE id = @id", cancellationToken, ("id", after)).ConfigureAwait(false) as string;
                var resume = last is not null && last.StartsWith(prefix, StringComparison.Ordinal);
                where.Add(resume ? $"{key} >= @from AND ({key} > @from OR a.id > @after)" : $"{key} >= @from");
                parameters.Add(("from", resume ? last : prefix));
                order = $"{key}, a.id";
                byId = false;
            }
            else
            {
                where.Add($"{key} >= @from");
                parameters.Add(("from", prefix));
            }
        }

        if (byId)
        {
            where.Add("a.id > @after");
        }

        if (id is not null)
        {
            where.Add("a.id = @id");
            parameters.Add(("id", id));
        }

        if (account is not null)
        {
            where.Add("a.account = @account");
            parameters.Add(("account", account));
        }

        if (!string.IsNullOrEmpty(search.Plan))
        {
            where.Add($"{(byId ? "a.plan" : Unindexed("a.plan"))} = @plan");
            parameters.Add(("plan", search.Plan));
        }

        if (search.State is { } state)
        {
            where.Add($"{(byId ? "a.state" : Unindexed("a.state"))} = @state");
            parameters.Add(("state", Name(state)));
        }

        return ($"{string.Join(" AND ", where)} ORDER BY {order} LIMIT @limit", [.. parameters]);
    }

    /// <summary>
    /// Migration 27's fill of the title keys that the database's <c>lower()</c> got wrong (SQLite folds only ASCII;
    /// PostgreSQL follows its locale): read once, written where <see cref="ApplicationSearch.Fold"/> differs.
    /// </summary>
    internal static async Task FoldTitlesAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var wrong = new List<(string Id, string Key)>();
        await using (var command = Command(connection, transaction, "SELECT id, title, title_key FROM consumer_applications"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var key = ApplicationSearch.Fold(reader.GetString(1));
                if (!string.Equals(key, reader.GetString(2), StringComparison.Ordinal))
                {
                    wrong.Add((reader.GetString(0), key));
                }
            }
        }

        foreach (var (id, key) in wrong)
        {
            await ExecuteAsync(connection, transaction, "UPDATE consumer_applications SET title_key = @key WHERE id = @id", cancellationToken, ("key", key), ("id", id)).ConfigureAwait(false);
        }
    }
}
