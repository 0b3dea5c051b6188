using System.Globalization;
using System.Text.Json;
using Gatehouse.Model.Access;
using Microsoft.Data.Sqlite;

namespace Gatehouse.Bench.Portal;

/// <summary>
/// N accounts with one application each, written straight into a SQLite store's consumer tables, spread over what the
/// console searches by: 26 address starts, every account state, three plans, every application state and ten title
/// words. Plan and state are drawn from different parts of the number (state spread by a multiplier, not in runs), so that
/// each plan holds its share of each state throughout.
/// </summary>
internal static class ConsolePreload
{
    /// <summary>The plans the applications are on, in the config of the run.</summary>
    public static readonly string[] Plans = ["retail", "wholesale", "internal"];

    /// <summary>The start of every 26th address (ada000000@, bob000001@, ...): a prefix search finds N / 26.</summary>
    public static readonly string[] Names =
        ["ada", "bob", "cyd", "dan", "eve", "fay", "gus", "hal", "ivy", "jon", "kim", "lou", "max", "ned", "oda", "pam", "quin", "ray", "sue", "tom", "uma", "vic", "wes", "xia", "yan", "zoe"];

    private static readonly string[] Words = ["Shop", "Store", "Billing", "Mobile", "Partner", "Warehouse", "Search", "Reports", "Sync", "Checkout"];

    public static string Email(int i) => string.Create(CultureInfo.InvariantCulture, $"{Names[i % Names.Length]}{i:D6}@example.com");

    public static void AccountsAndApplications(string db, int n, string firstKey)
    {
        using var connection = new SqliteConnection($"Data Source={db}");
        connection.Open();
        using var transaction = connection.BeginTransaction();
        var now = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
        using var account = connection.CreateCommand();
        account.CommandText = "INSERT INTO consumer_accounts (id, email, title, password_hash, state, stamp, created_at, version) VALUES ($id, $email, $title, NULL, $state, 's', $at, 1)";
        using var app = connection.CreateCommand();
        // title_key as ApplicationSearch.Fold leaves it: these titles are ASCII, so lower() is the same.
        app.CommandText = "INSERT INTO consumer_applications (id, account, title, title_key, description, plan, state, keys, created_at, seq, deleted) VALUES ($id, $account, $title, lower($title), '', $plan, $state, $keys, $at, $seq, 0)";
        using var change = connection.CreateCommand();
        change.CommandText = "INSERT INTO consumer_changes (seq, at, actor, action, kind, name, before, after) VALUES ($seq, $at, 'bench', 'create', 'application', $id, NULL, NULL)";
        foreach (var command in new[] { account, app, change })
        {
            command.Transaction = transaction;
        }

        for (var i = 0; i < n; i++)
        {
            // Accounts: 5% pending, 2% suspended, 1% unverified, the rest active.
            account.Parameters.Clear();
            account.Parameters.AddWithValue("$id", $"acc-bench{i}");
            account.Parameters.AddWithValue("$email", Email(i));
            account.Parameters.AddWithValue("$title", $"Consumer {i}");
            account.Parameters.AddWithValue("$state", (i / 26 * 37 % 100) switch { < 5 => "pending", < 7 => "suspended", 7 => "unverified", _ => "active" });
            account.Parameters.AddWithValue("$at", now);
            account.ExecuteNonQuery();

            // Applications: 70% retail, 20% wholesale, 10% internal; 4% pending, 2.5% suspended, the rest live.
            var key = i == 0 ? firstKey : ApiKeyHash.NewKey();
            var keys = JsonSerializer.Serialize(new[] { new { sha256 = ApiKeyHash.Sha256Hex(key), prefix = ApiKeyHash.DisplayPrefix(key), createdAt = now, expires = (string?)null } });
            app.Parameters.Clear();
            app.Parameters.AddWithValue("$id", $"app-bench{i}");
            app.Parameters.AddWithValue("$account", $"acc-bench{i}");
            app.Parameters.AddWithValue("$title", $"{Words[i / 10 % Words.Length]} {i}");
            app.Parameters.AddWithValue("$plan", (i % 10) switch { < 7 => Plans[0], < 9 => Plans[1], _ => Plans[2] });
            app.Parameters.AddWithValue("$state", (i / 10 * 37 % 200) switch { < 8 => "pending", < 13 => "suspended", _ => "live" });
            app.Parameters.AddWithValue("$keys", keys);
            app.Parameters.AddWithValue("$at", now);
            app.Parameters.AddWithValue("$seq", i + 1);
            app.ExecuteNonQuery();
            change.Parameters.Clear();
            change.Parameters.AddWithValue("$seq", i + 1);
            change.Parameters.AddWithValue("$at", now);
            change.Parameters.AddWithValue("$id", $"app-bench{i}");
            change.ExecuteNonQuery();
        }

        transaction.Commit();
    }
}
