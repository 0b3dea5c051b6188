using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Tests.Stores;

// Opening applies the schema once; a schema from a newer Gatehouse is refused.
public abstract partial class ConfigStoreTests
{
    [Fact]
    public async Task Open_AlreadyMigratedStore_ChangesNothingAndKeepsData()
    {
        await Store.CommitAsync([Set("plan", "retail", "1")], 0, "alice", "one");

        await using (var again = await ConfigStores.OpenAsync(Connection, Clock))
        {
            Assert.Equal([new("plan", "retail", "1", 1)], await again.ReadAsync());
        }

        Assert.Equal(Migrations.Latest, await ((SqlConfigStore)Store).SchemaVersionAsync(CancellationToken.None));
        // Exactly one row per migration: a second open did not apply anything again.
        await ExecuteSqlAsync("INSERT INTO settings (key, value) SELECT 'migrations', CAST(COUNT(*) AS TEXT) FROM schema_migrations");
        Assert.Equal(Migrations.All.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), await Store.GetSettingAsync("migrations"));
    }

    [Fact]
    public async Task Open_SchemaNewerThanTheCode_IsRefusedWithAClearError()
    {
        // One row, whatever number of steps the schema has.
        await ExecuteSqlAsync($"INSERT INTO schema_migrations (version, applied_at) SELECT {Migrations.Latest + 1}, applied_at FROM schema_migrations WHERE version = 1");

        var error = await Assert.ThrowsAsync<ConfigStoreException>(() => ConfigStores.OpenAsync(Connection, Clock));

        Assert.Contains($"schema version {Migrations.Latest + 1}", error.Message, StringComparison.Ordinal);
        Assert.Contains("Upgrade Gatehouse", error.Message, StringComparison.Ordinal);
    }
}
