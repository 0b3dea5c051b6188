using System.Text.Json;
using Gatehouse.Model.Access;
using Microsoft.Data.Sqlite;

namespace Gatehouse.Bench.Portal;

/// <summary>
/// Portal applications written straight into a SQLite store's consumer tables, as that many sign-ups would leave them.
/// Shared with bench/Gatehouse.Bench.HybridKeys (linked there), so both benches preload the same store.
/// </summary>
internal static class Preload
{
    // One account per 10 applications, each application with one key; the first application's key is known.
    public static void Applications(string db, int applications, string firstKey)
    {
        using var connection = new SqliteConnection($"Data Source={db}");
        connection.Open();
        using var transaction = connection.BeginTransaction();
        var now = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        using var account = connection.CreateCommand();
        account.CommandText = "INSERT INTO consumer_accounts (id, email, title, password_hash, state, stamp, created_at, version) VALUES ($id, $email, $title, NULL, 'active', 's', $at, 1)";
        using var app = connection.CreateCommand();
        app.CommandText = "INSERT INTO consumer_applications (id, account, title, description, plan, state, keys, created_at, seq, deleted) VALUES ($id, $account, $title, '', 'retail', 'live', $keys, $at, $seq, 0)";
        using var change = connection.CreateCommand();
        change.CommandText = "INSERT INTO consumer_changes (seq, at, actor, action, kind, name, before, after) VALUES ($seq, $at, 'bench', 'create', 'application', $id, NULL, NULL)";
        foreach (var command in new[] { account, app, change })
        {
            command.Transaction = transaction;
        }

        for (var i = 0; i < applications; i++)
        {
            if (i % 10 == 0)
            {
                account.Parameters.Clear();
                account.Parameters.AddWithValue("$id", $"acc-bench{i / 10}");
                account.Parameters.AddWithValue("$email", $"preloaded{i / 10}@example.com");
                account.Parameters.AddWithValue("$title", $"Preloaded {i / 10}");
                account.Parameters.AddWithValue("$at", now);
                account.ExecuteNonQuery();
            }

            var key = i == 0 ? firstKey : ApiKeyHash.NewKey();
            var keys = JsonSerializer.Serialize(new[] { new { sha256 = ApiKeyHash.Sha256Hex(key), prefix = ApiKeyHash.DisplayPrefix(key), createdAt = now, expires = (string?)null } });
            app.Parameters.Clear();
            app.Parameters.AddWithValue("$id", $"app-bench{i}");
            app.Parameters.AddWithValue("$account", $"acc-bench{i / 10}");
            app.Parameters.AddWithValue("$title", $"Preloaded {i}");
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
