namespace Gatehouse.Cli.Commands;

/// <summary>
/// Says on standard error what a start is waiting for when it takes long: a store that accepts connections but does
/// not answer, a lock held by another process, a machine too busy to schedule us. Without it a slow start is silence,
/// and an operator (or a test that waits for the "listening on" line) cannot tell which step never finished.
/// </summary>
internal sealed class StartupProgress : IDisposable
{
    /// <summary>How long a start may take before the first line, and how often it repeats after that.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    private readonly TextWriter _error;
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly ITimer _timer;
    private string _step;
    private int _done;

    public StartupProgress(TextWriter error, string firstStep, TimeProvider? time = null, TimeSpan? interval = null)
    {
        _error = error;
        _time = time ?? TimeProvider.System;
        _started = _time.GetTimestamp();
        _step = firstStep;
        var every = interval ?? DefaultInterval;
        _timer = _time.CreateTimer(_ => Tell(), null, every, every);
    }

    /// <summary>What the start is doing now ("opening the store", …): named in the next line, if one is due.</summary>
    public void Step(string what) => Volatile.Write(ref _step, what);

    /// <summary>The start has finished (or failed): no more lines.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _done, 1) == 0)
        {
            _timer.Dispose();
        }
    }

    private void Tell()
    {
        if (Volatile.Read(ref _done) != 0)
        {
            return;
        }

        var seconds = _time.GetElapsedTime(_started).TotalSeconds;
        _error.WriteLine($"Gatehouse is still starting after {seconds:0} s: {Volatile.Read(ref _step)}.");
    }
}
