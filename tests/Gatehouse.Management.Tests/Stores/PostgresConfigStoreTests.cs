using Gatehouse.Management.Tests.Support;
using Npgsql;

namespace Gatehouse.Management.Tests.Stores;

/// <summary>The store contract on a real PostgreSQL server, a fresh database per test.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresConfigStoreTests(PostgresCluster cluster) : ConfigStoreTests
{
    protected override Task<string> CreateEmptyStoreAsync() => cluster.CreateDatabaseAsync();

    protected override async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Connection);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    protected override async Task<long> CountSqlAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Connection);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Open_PostgresUrl_ReachesTheSameDatabase()
    {
        await Store.CommitAsync([Set("plan", "retail", "1")], 0, "alice", "one");
        var builder = new NpgsqlConnectionStringBuilder(Connection);

        await using var viaUrl = await Gatehouse.Management.Stores.ConfigStores.OpenAsync(
            $"postgresql://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}?application_name=gatehouse-test", Clock);

        Assert.Equal(1, await viaUrl.CurrentRevisionAsync());
    }
}
