using System.Data.Common;

namespace Gatehouse.Management.Stores;

/// <summary>
/// One schema step, in the SQL of each database. Applied once, in version order, in its own transaction; <paramref name="Code"/>,
/// when given, runs after the SQL in the same transaction, for what SQL cannot do alike in both databases.
/// </summary>
internal sealed record Migration(int Version, string Sqlite, string Postgres, Func<DbConnection, DbTransaction, CancellationToken, Task>? Code = null);
