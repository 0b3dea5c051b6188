using System.Globalization;
using Gatehouse.Model.Config;
using Gatehouse.Model.Plans;

namespace Gatehouse.Management.Portal;

/// <summary>A plan as the catalogue shows it.</summary>
public sealed record PlanSummary(string Name, string Title, bool ApprovalRequired, bool Anonymous, int Reads, int Writes, string Limits)
{
    public static PlanSummary Of(string name, PlanConfig plan, IReadOnlyList<PlanOperation> operations) => new(
        name,
        plan.Title ?? name,
        plan.ApprovalRequired,
        plan.Anonymous,
        operations.Count(o => o.Access == OperationAccess.Read),
        operations.Count(o => o.Access == OperationAccess.Write),
        plan.Limits.Count == 0
            ? "none"
            : string.Join(", ", plan.Limits.Where(l => l.Mode == LimitMode.Enforce).Select(l => string.Create(CultureInfo.InvariantCulture, $"{l.Requests:N0} per {l.Per.ToString().ToLowerInvariant()}"))));
}
