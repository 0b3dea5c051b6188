using Gatehouse.Model.Consumers;

namespace Gatehouse.Management.Portal;

/// <summary>
/// What the portal's usage page shows for one application: its calls per day and what is left of each limit. The
/// host supplies it (<c>PortalUsage</c> in the <c>gatehouse</c> command): the days from usage analytics in the store,
/// the limits from the live counters of the gateway in this process.
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

/// <summary>Calls an application made on one UTC day, and how they went.</summary>
public sealed record DailyCalls(DateOnly Day, long Calls)
{
    /// <summary>Calls answered 4xx.</summary>
    public long ClientErrors { get; init; }

    /// <summary>Calls answered 5xx.</summary>
    public long Errors { get; init; }

    /// <summary>The 95th percentile of the timed calls' latency, in milliseconds; NaN when none was timed.</summary>
    public double P95Ms { get; init; } = double.NaN;

    /// <summary>Tokens of its model calls (the AI gateway), prompt and completion.</summary>
    public long PromptTokens { get; init; }

    public long CompletionTokens { get; init; }
}
