using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Stores;

/// <summary>
/// Whether the store answers, as the control plane's background loops and admin requests find it. It logs one line
/// when the store goes away and one when it comes back (never a stack trace per attempt), and tells the loops how long
/// to back off before their next attempt while it is away: 2 s, doubling per failure, at most 30 s.
/// </summary>
public sealed partial class StoreHealth(ILogger logger, TimeProvider? time = null)
{
    /// <summary>The longest wait between two attempts while the store is away.</summary>
    public static readonly TimeSpan MaxBackOff = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private int _failures;
    private DateTimeOffset _since;

    /// <summary>Whether the last attempt failed.</summary>
    public bool IsDown
    {
        get
        {
            lock (_lock)
            {
                return _failures > 0;
            }
        }
    }

    /// <summary>How long a loop waits, beyond its own interval, before trying again: zero while the store answers.</summary>
    public TimeSpan BackOff
    {
        get
        {
            lock (_lock)
            {
                return _failures == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(Math.Pow(2, Math.Min(_failures, 16)), MaxBackOff.TotalSeconds));
            }
        }
    }

    /// <summary>The seconds a client should wait before sending again (for <c>Retry-After</c>): at least 2.</summary>
    public int RetryAfterSeconds => (int)Math.Max(2, Math.Ceiling(BackOff.TotalSeconds));

    /// <summary>Whether <paramref name="e"/> (or what caused it) says the store could not be reached or did not answer.</summary>
    public static bool IsStoreFailure(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is DbException or SocketException or TimeoutException or ConfigStoreException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Records a failed attempt; the first of an outage is logged, in one line.</summary>
    public void Failed(Exception e)
    {
        bool first;
        lock (_lock)
        {
            first = _failures == 0;
            if (first)
            {
                _since = _time.GetUtcNow();
            }

            _failures++;
        }

        if (first)
        {
            LogDown(logger, Reason(e));
        }

        LogAttemptFailed(logger, e);
    }

    /// <summary>Records an attempt that worked; ends an outage, in one line.</summary>
    public void Succeeded()
    {
        TimeSpan down;
        lock (_lock)
        {
            if (_failures == 0)
            {
                return;
            }

            down = _time.GetUtcNow() - _since;
            _failures = 0;
        }

        LogUp(logger, Math.Round(down.TotalSeconds, 1));
    }

    /// <summary>Waits <see cref="BackOff"/> (nothing while the store answers).</summary>
    public Task WaitBackOffAsync(CancellationToken cancellationToken)
    {
        var wait = BackOff;
        return wait == TimeSpan.Zero ? Task.CompletedTask : Task.Delay(wait, _time, cancellationToken);
    }

    /// <summary>One line that says why: the innermost message that names the cause, without a stack.</summary>
    public static string Reason(Exception e)
    {
        var innermost = e;
        while (innermost.InnerException is not null)
        {
            innermost = innermost.InnerException;
        }

        var text = innermost == e ? e.Message : $"{e.Message} ({innermost.Message})";
        return text.ReplaceLineEndings(" ");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The configuration store is unreachable: {Reason}. The gateway keeps serving what it has; admin changes answer 503 until the store is back; retrying with back-off (up to 30 s).")]
    private static partial void LogDown(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The configuration store is reachable again (it was away for {Seconds} s).")]
    private static partial void LogUp(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A store operation failed.")]
    private static partial void LogAttemptFailed(ILogger logger, Exception exception);
}
