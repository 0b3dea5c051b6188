namespace Gatehouse.Management.Stores;

/// <summary>One schema step, in the SQL of each database. Applied once, in version order, in its own transaction.</summary>
internal sealed record Migration(int Version, string Sqlite, string Postgres);
