using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Admin;

/// <summary>What a request wants to change, decided against one revision's resources: the changes, or a problem that refuses it.</summary>
internal sealed record ChangePlan(IReadOnlyList<ResourceChange> Changes, AdminProblem? Problem = null)
{
    public static ChangePlan Refuse(AdminProblem problem) => new([], problem);
}
