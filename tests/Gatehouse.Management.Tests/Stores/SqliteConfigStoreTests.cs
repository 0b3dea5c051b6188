using Microsoft.Data.Sqlite;

namespace Gatehouse.Management.Tests.Stores;

/// <summary>The store contract on a SQLite file in a fresh temp folder per test.</summary>
public sealed class SqliteConfigStoreTests : ConfigStoreTests, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gatehouse-sqlite-").FullName;

    private string FilePath => Path.Combine(_folder, "gatehouse.db");

    protected override Task<string> CreateEmptyStoreAsync() => Task.FromResult("sqlite:" + FilePath);

    protected override async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = FilePath, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    protected override async Task<long> CountSqlAsync(string sql)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = FilePath, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Open_NewFile_UsesWriteAheadLogging()
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = FilePath, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";

        Assert.Equal("wal", await command.ExecuteScalarAsync());
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
