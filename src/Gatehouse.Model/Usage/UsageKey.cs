namespace Gatehouse.Model.Usage;

/// <summary>
/// What one rollup row counts: an application's calls of one operation on one plan that got one status code.
/// Empty strings stand for "none" (an anonymous caller has no application; a request that matched no route has no operation).
/// </summary>
public readonly record struct UsageKey(string Application, string Plan, string Operation, int Status)
{
    /// <summary>The application of the rows that add up every application (the estate-wide rows); never an application id, which cannot start with '*'.</summary>
    public const string AllApplications = "*";
}
