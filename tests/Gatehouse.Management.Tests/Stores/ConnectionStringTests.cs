using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Tests.Stores;

/// <summary>Which database a store connection string names, and the errors for ones that name none.</summary>
public sealed class ConnectionStringTests
{
    [Theory]
    [InlineData("gatehouse.db")]
    [InlineData("/tmp/gatehouse.db")]
    [InlineData("sqlite:/tmp/gatehouse.db")]
    [InlineData("SQLITE:gatehouse.db")]
    public void Parse_PathOrSqlitePrefix_IsSqlite(string connection)
    {
        var (path, postgres) = ConfigStores.Parse(connection);

        Assert.Null(postgres);
        Assert.Equal(Path.GetFullPath(connection.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase) ? connection[7..] : connection), path);
    }

    [Fact]
    public void Parse_PostgresUrl_BecomesNpgsqlSettings()
    {
        var (path, postgres) = ConfigStores.Parse("postgres://gate%40house:p%3Ass@db.example:6543/config%20db?sslmode=require&application_name=gh");

        Assert.Null(path);
        Assert.Equal(
            ("db.example", 6543, "config db", "gate@house", "p:ss", Npgsql.SslMode.Require, "gh"),
            (postgres!.Host, postgres.Port, postgres.Database, postgres.Username, postgres.Password, postgres.SslMode, postgres.ApplicationName));
    }

    [Fact]
    public void Parse_PostgresqlUrlWithoutPort_UsesDefaultPort()
    {
        var (_, postgres) = ConfigStores.Parse("postgresql://db/gatehouse");

        Assert.Equal(("db", 5432, "gatehouse"), (postgres!.Host, postgres.Port, postgres.Database));
    }

    [Fact]
    public void Parse_KeywordString_IsPostgres()
    {
        var (_, postgres) = ConfigStores.Parse("Host=db;Database=gatehouse;Username=gh");

        Assert.Equal(("db", "gatehouse"), (postgres!.Host, postgres.Database));
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("   ", "is empty")]
    [InlineData(":memory:", "in-memory")]
    [InlineData("Data Source=gatehouse.db", "looks like a SQLite connection string")]
    [InlineData("Database=gatehouse", "has no Host=")]
    [InlineData("Hots=db;Database=x", "not a valid PostgreSQL connection string")]
    [InlineData("postgres://db/x?sslmodee=require", "does not know, 'sslmodee'")]
    [InlineData("sqlite:/no/such/folder/gatehouse.db", "does not exist")]
    public void Parse_BadConnection_SaysWhatToWrite(string connection, string problem)
    {
        var error = Assert.Throws<ConfigStoreException>(() => ConfigStores.Parse(connection));

        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        if (!problem.Equals("does not exist", StringComparison.Ordinal))
        {
            Assert.Contains("postgres://user:password@host:5432/database", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Open_UnreachablePostgres_FailsWithWhereItTried()
    {
        var error = await Assert.ThrowsAsync<ConfigStoreException>(
            () => ConfigStores.OpenAsync("Host=127.0.0.1;Port=1;Database=nowhere;Username=x;Timeout=2", TimeProvider.System));

        Assert.StartsWith("Cannot open the PostgreSQL store at 127.0.0.1:1/nowhere", error.Message, StringComparison.Ordinal);
    }
}
