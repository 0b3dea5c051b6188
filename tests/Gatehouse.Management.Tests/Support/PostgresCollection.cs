namespace Gatehouse.Management.Tests.Support;

/// <summary>Every test class that needs PostgreSQL shares one cluster (and runs one after another).</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresCluster>
{
    public const string Name = "PostgreSQL";
}
