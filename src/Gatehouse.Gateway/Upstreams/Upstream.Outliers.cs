using Gatehouse.Gateway.Resilience;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Upstreams;

/// <summary>Outlier detection: ejection, its share cap, half-open probes and panic mode (see <see cref="OutlierPolicy"/>).</summary>
internal sealed partial class Upstream
{
    // Ejections are rare; the lock makes "count the ejected, then eject" one step, so two destinations failing at
    // once cannot both pass the share cap. Never taken on a request that went well.
    private readonly Lock _ejectLock = new();
    // 0: count again at the next pick.
    private long _panicCheckedAt;
    private volatile bool _panic;
    private int _panicNext;

    private void Judge(OutlierPolicy outliers, Destination destination, UpstreamOutcome outcome)
    {
        if (outcome == UpstreamOutcome.NotJudged)
        {
            destination.ReleaseProbe();
            return;
        }

        var now = _time.GetTimestamp();
        var failed = outcome == UpstreamOutcome.Failed;
        var rateExceeded = false;
        if (outliers.FailurePercent is { } percent)
        {
            var (requests, failures) = destination.CountWindow(now, outliers.WindowTicks, failed);
            rateExceeded = failed && requests >= outliers.MinimumRequests && failures * 100L >= (long)percent * requests;
        }

        if (!failed)
        {
            if (destination.RecordSuccess(now))
            {
                Volatile.Write(ref _panicCheckedAt, 0);
                LogReturned(_logger, Name, destination.ToString());
            }

            return;
        }

        if (destination.IsHalfOpen(now))
        {
            // The probe failed: out again, for longer.
            Eject(outliers, destination, now, "probe");
        }
        else if (destination.RecordFailure() == outliers.ConsecutiveFailures)
        {
            // Exactly one of the requests failing concurrently sees the count reach the threshold, so a
            // destination is ejected (and logged) once per streak, not once per request in flight.
            Eject(outliers, destination, now, "consecutive");
        }
        else if (rateExceeded && !destination.IsEjected(now))
        {
            Eject(outliers, destination, now, "rate");
        }
    }

    private void Eject(OutlierPolicy outliers, Destination destination, long now, string cause)
    {
        lock (_ejectLock)
        {
            if (destination.IsEjected(now))
            {
                return;
            }

            var destinations = _destinations;
            var ejected = 0;
            foreach (var d in destinations)
            {
                if (!ReferenceEquals(d, destination) && d.IsEjected(now))
                {
                    ejected++;
                }
            }

            // One destination may always be ejected, however few there are (as Envoy does).
            var cap = Math.Max(1, destinations.Length * outliers.MaxEjectedPercent / 100);
            if (ejected >= cap && !destination.IsHalfOpen(now))
            {
                ResilienceMetrics.Capped(Name);
                LogEjectionCapped(_logger, Name, destination.ToString(), ejected, outliers.MaxEjectedPercent);
                return;
            }

            var count = destination.NextEjection(now, outliers.MaxEjectionTicks);
            var ticks = Math.Min(outliers.MaxEjectionTicks, outliers.BaseEjectionTicks * count);
            destination.Eject(now + ticks);
            Volatile.Write(ref _panicCheckedAt, 0);
            ResilienceMetrics.Ejected(Name, cause);
            Observability.GatewayMetrics.Ejected(Name);
            LogEjected(_logger, Name, destination.ToString(), cause, count, TimeSpan.FromSeconds((double)ticks / _time.TimestampFrequency));
        }
    }

    /// <summary>Whether outlier detection (or passive health checks, its simple form) watches this service.</summary>
    internal bool DetectsOutliers => _outliers is not null;

    /// <summary>Panic mode as last judged: at most a second old while requests flow, the last judgement when none do.</summary>
    internal bool Panicking => _panic;

    /// <summary>The destinations by circuit state at <paramref name="now"/>: closed (in), open (ejected), half-open (its requests are probes).</summary>
    internal (int Closed, int Open, int HalfOpen) Circuits(long now)
    {
        int closed = 0, open = 0, halfOpen = 0;
        foreach (var d in Destinations)
        {
            if (d.IsEjected(now))
            {
                open++;
            }
            else if (d.IsHalfOpen(now))
            {
                halfOpen++;
            }
            else
            {
                closed++;
            }
        }

        return (closed, open, halfOpen);
    }

    /// <summary>
    /// Whether fewer than the panic threshold of destinations are available. Counted at most once a second, and
    /// at once after an ejection or a return; the one read in between is a volatile flag.
    /// </summary>
    private bool InPanic(Destination[] destinations, long now)
    {
        var checkedAt = Volatile.Read(ref _panicCheckedAt);
        if (checkedAt != 0 && now - checkedAt < _time.TimestampFrequency)
        {
            return _panic;
        }

        var available = 0;
        foreach (var d in destinations)
        {
            if (d.ActiveHealthy && !d.IsEjected(now))
            {
                available++;
            }
        }

        var panic = destinations.Length > 0 && available * 100L < (long)_outliers!.PanicThresholdPercent * destinations.Length;
        if (panic != _panic)
        {
            if (panic)
            {
                LogPanic(_logger, Name, available, destinations.Length);
            }
            else
            {
                LogPanicOver(_logger, Name);
            }
        }

        _panic = panic;
        Volatile.Write(ref _panicCheckedAt, now);
        return panic;
    }

    private Destination? PanicPick(Destination[] destinations)
    {
        if (destinations.Length == 0)
        {
            return null;
        }

        ResilienceMetrics.Panic(Name);
        return destinations[(int)((uint)Interlocked.Increment(ref _panicNext) % (uint)destinations.Length)];
    }

    /// <summary>Makes the next pick count the available destinations again (an active health check changed one).</summary>
    internal void HealthChanged() => Volatile.Write(ref _panicCheckedAt, 0);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service {Service}: destination {Destination} ejected ({Cause}), ejection {Count} in a row, for {Duration}")]
    private static partial void LogEjected(ILogger logger, string service, string destination, string cause, int count, TimeSpan duration);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service {Service}: destination {Destination} not ejected: {Ejected} already are, the cap of maxEjectedPercent {Percent}%")]
    private static partial void LogEjectionCapped(ILogger logger, string service, string destination, int ejected, int percent);

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service}: destination {Destination} is back (a probe succeeded)")]
    private static partial void LogReturned(ILogger logger, string service, string destination);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service {Service}: panic mode, only {Available} of {Total} destinations available; spreading requests over all of them")]
    private static partial void LogPanic(ILogger logger, string service, int available, int total);

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service}: panic mode over")]
    private static partial void LogPanicOver(ILogger logger, string service);
}
