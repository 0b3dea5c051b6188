using System.Data.Common;
using System.Globalization;
using System.Text;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Stores;

/// <summary>
/// How one kind of rollup row is kept in the store: its minute, hour and day tables, its columns (bucket and node first, as
/// in every rollup table), the upsert's conflict clause, and how a row becomes parameters and is read back. The request
/// rollups and the model-usage rollups share every statement built from it (<see cref="SqlConfigStore"/>).
/// </summary>
internal sealed class RollupShape<T>(
    string tablePrefix,
    string columns,
    string[] parameters,
    string onConflict,
    Action<List<(string, object?)>, T, string> toParameters,
    Func<DbDataReader, UsageGranularity, T> read)
    where T : RollupRow
{
    public string Columns => columns;

    /// <summary>Parameters of one row (as many as <see cref="Columns"/>); more rows than this many per statement would pass a database's parameter limit sooner.</summary>
    public int ParametersPerRow => parameters.Length;

    public string Table(UsageGranularity granularity) => granularity switch
    {
        UsageGranularity.Minute => tablePrefix + "_minute",
        UsageGranularity.Hour => tablePrefix + "_hour",
        UsageGranularity.Day => tablePrefix + "_day",
        _ => throw new ArgumentOutOfRangeException(nameof(granularity)),
    };

    /// <summary>An upsert of <paramref name="rows"/> rows into <paramref name="table"/>, their parameters suffixed 0…rows−1.</summary>
    public string Upsert(string table, int rows) => Upsert(table, rows, suffixed: true);

    /// <summary>An upsert of one row into <paramref name="table"/>, its parameters not suffixed (a prepared statement run per row).</summary>
    public string UpsertOne(string table) => Upsert(table, 1, suffixed: false);

    private string Upsert(string table, int rows, bool suffixed)
    {
        var sql = new StringBuilder($"INSERT INTO {table} ({columns}) VALUES ");
        for (var i = 0; i < rows; i++)
        {
            var suffix = suffixed ? i.ToString(CultureInfo.InvariantCulture) : "";
            sql.Append(i == 0 ? "(" : ", (");
            for (var p = 0; p < parameters.Length; p++)
            {
                sql.Append(p == 0 ? "@" : ", @").Append(parameters[p]).Append(suffix);
            }

            sql.Append(')');
        }

        return sql.Append(onConflict).ToString();
    }

    /// <summary>Adds <paramref name="row"/>'s values, named as in <see cref="Upsert(string, int)"/> with <paramref name="suffix"/>.</summary>
    public void AddParameters(List<(string, object?)> list, T row, string suffix) => toParameters(list, row, suffix);

    public T Read(DbDataReader reader, UsageGranularity granularity) => read(reader, granularity);
}
