namespace Gatehouse.Model.Usage;

/// <summary>The size of a rollup's time bucket.</summary>
public enum UsageGranularity
{
    /// <summary>One minute.</summary>
    Minute,

    /// <summary>One hour.</summary>
    Hour,

    /// <summary>One day (UTC).</summary>
    Day,
}

/// <summary>Bucket arithmetic, in Unix seconds (UTC).</summary>
public static class UsageBuckets
{
    /// <summary>The bucket length in seconds.</summary>
    public static long Seconds(UsageGranularity granularity) => granularity switch
    {
        UsageGranularity.Minute => 60,
        UsageGranularity.Hour => 3600,
        _ => 86_400,
    };

    /// <summary>The start of the bucket that holds <paramref name="unixSeconds"/>.</summary>
    public static long Start(UsageGranularity granularity, long unixSeconds)
    {
        var size = Seconds(granularity);
        return unixSeconds - (((unixSeconds % size) + size) % size);
    }
}
