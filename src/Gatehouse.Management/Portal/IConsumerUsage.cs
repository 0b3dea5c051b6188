using Gatehouse.Model.Consumers;

namespace Gatehouse.Management.Portal;

/// <summary>
/// What the portal's usage page shows for one application: its calls per day and what is left of each limit. The
/// host supplies it: until usage analytics (issue 19) is plugged in, the live counters of the gateway in this process
/// (<c>LiveQuotaUsage</c> in the <c>gatehouse</c> command), which know the current windows and no history.
/// </summary>
public interface IConsumerUsage
{
    /// <summary>The usage of application <paramref name="applicationId"/>; empty lists when nothing is known.</summary>
    Task<ApplicationUsage> GetAsync(string applicationId, CancellationToken cancellationToken);
}

/// <summary>One application's usage.</summary>
/// <param name="Limits">Each limit of its plan with what the current window has used.</param>
/// <param name="Days">Calls per UTC day, newest first; empty when the source keeps no history.</param>
public sealed record ApplicationUsage(IReadOnlyList<LimitUsage> Limits, IReadOnlyList<DailyCalls> Days)
{
    public static ApplicationUsage None { get; } = new([], []);
}

/// <summary>Calls an application made on one UTC day.</summary>
public sealed record DailyCalls(DateOnly Day, long Calls);
