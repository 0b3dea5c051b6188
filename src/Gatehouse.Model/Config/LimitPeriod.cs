namespace Gatehouse.Model.Config;

/// <summary>
/// The window a limit counts in. <see cref="Second"/> and <see cref="Minute"/> are rate limits; <see cref="Hour"/>,
/// <see cref="Day"/> and <see cref="Month"/> are quotas. Every window is a fixed window aligned to UTC calendar
/// boundaries (a minute starts at :00, a day at 00:00 UTC, a month on the 1st at 00:00 UTC).
/// </summary>
public enum LimitPeriod
{
    /// <summary>A rate limit per UTC second.</summary>
    Second,

    /// <summary>A rate limit per UTC minute.</summary>
    Minute,

    /// <summary>A quota per UTC hour.</summary>
    Hour,

    /// <summary>A quota per UTC day (00:00 to 24:00 UTC).</summary>
    Day,

    /// <summary>A quota per UTC calendar month (28 to 31 days).</summary>
    Month,
}
