using System.Globalization;
using Gatehouse.Model.Config;
using Gatehouse.Model.Plans;

namespace Gatehouse.Management.Portal;

/// <summary>A plan as the catalogue shows it.</summary>
public sealed record PlanSummary(string Name, string Title, bool ApprovalRequired, bool Anonymous, int Reads, int Writes, string Limits)
{
    /// <summary>The model aliases the plan may call through its model routes (<see cref="PlanProjection.Models"/>).</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary>What the plan is for, as its config says (<c>plans.NAME.description</c>), shown to people choosing one.</summary>
    public string? Description { get; init; }

    public static PlanSummary Of(string name, PlanConfig plan, IReadOnlyList<PlanOperation> operations) => new(
        name,
        plan.Title ?? name,
        plan.ApprovalRequired,
        plan.Anonymous,
        operations.Count(o => o.Access == OperationAccess.Read),
        operations.Count(o => o.Access == OperationAccess.Write),
        plan.Limits.Count == 0 ? "none" : Describe(plan.Limits))
    {
        Description = plan.Description,
    };

    /// <summary>Enforced limits as the pages write them: <c>60 per minute, 1,000 per day</c>.</summary>
    public static string Describe(IEnumerable<LimitConfig> limits) =>
        string.Join(", ", limits.Where(l => l.Mode == LimitMode.Enforce).Select(l => string.Create(CultureInfo.InvariantCulture, $"{l.Requests:N0} per {l.Per.ToString().ToLowerInvariant()}")));

    /// <summary>
    /// A plan's token and spend limits as the pages write them: <c>100,000 tokens (total) per day, model demo</c>,
    /// <c>spend 50 per month, every model</c>.
    /// </summary>
    public static IReadOnlyList<string> DescribeTokens(PlanConfig plan) =>
        [.. plan.TokenLimits.Select(l => string.Create(CultureInfo.InvariantCulture,
            $"{l.Tokens:N0} tokens ({l.Count.ToString().ToLowerInvariant()}) per {l.Per.ToString().ToLowerInvariant()}{(l.Model is { } model ? ", model " + model : ", every model")}")),
         .. plan.SpendLimits.Select(l => string.Create(CultureInfo.InvariantCulture,
            $"spend {l.Amount:#,0.########} per {l.Per.ToString().ToLowerInvariant()}{(l.Model is { } model ? ", model " + model : ", every model")}"))];
}
