using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Upstreams;

/// <summary>
/// The compiled outlier-detection settings of a service, in timestamp ticks. <c>healthCheck.passive</c> is the
/// simple case of it: a fixed cooldown, no share cap, no panic mode.
/// </summary>
internal sealed record OutlierPolicy(
    int ConsecutiveFailures,
    int? FailurePercent,
    int MinimumRequests,
    long WindowTicks,
    long BaseEjectionTicks,
    long MaxEjectionTicks,
    int MaxEjectedPercent,
    int PanicThresholdPercent)
{
    public static OutlierPolicy? Create(ServiceConfig config, TimeProvider time)
    {
        long Ticks(TimeSpan t) => (long)(t.TotalSeconds * time.TimestampFrequency);
        if (config.OutlierDetection is { } o)
        {
            return new OutlierPolicy(Math.Max(1, o.ConsecutiveFailures), o.FailurePercent, Math.Max(1, o.MinimumRequests), Ticks(o.Window),
                Ticks(o.BaseEjectionTime), Ticks(o.MaxEjectionTime), o.MaxEjectedPercent, o.PanicThresholdPercent);
        }

        if (config.HealthCheck?.Passive is { } passive)
        {
            // The config reader rejects thresholds below 1; clamp for configs built in code (0 would mean "off").
            var cooldown = Ticks(passive.Cooldown);
            return new OutlierPolicy(Math.Max(1, passive.ConsecutiveFailures), null, 1, 0, cooldown, cooldown, 100, 0);
        }

        return null;
    }
}
