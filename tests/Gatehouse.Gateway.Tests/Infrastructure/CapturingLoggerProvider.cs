using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>
/// Keeps every log entry written through it, for tests that assert on logs: pass it to
/// <c>TestGateway.StartAsync</c> as <c>logs</c>, or
/// straight to a component that takes an <see cref="ILoggerFactory"/> (it is both, and captures every level).
/// </summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private readonly Lock _lock = new();
    private readonly List<(Func<LogEntry, bool> Match, TaskCompletionSource<LogEntry> Found)> _waiters = [];

    public IReadOnlyCollection<LogEntry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    void ILoggerFactory.AddProvider(ILoggerProvider provider)
    {
    }

    /// <summary>Completes with the first entry (already written or still to come) that <paramref name="match"/> accepts; throws after <paramref name="timeout"/>.</summary>
    public async Task<LogEntry> WaitForAsync(Func<LogEntry, bool> match, TimeSpan timeout)
    {
        var found = new TaskCompletionSource<LogEntry>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _waiters.Add((match, found));
        }

        foreach (var entry in _entries)
        {
            if (match(entry))
            {
                found.TrySetResult(entry);
            }
        }

        try
        {
            return await found.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No matching log entry within {timeout}. Logged:{Environment.NewLine}{string.Join(Environment.NewLine, _entries)}");
        }
    }

    private void Add(LogEntry entry)
    {
        _entries.Enqueue(entry);
        lock (_lock)
        {
            foreach (var (match, found) in _waiters)
            {
                if (!found.Task.IsCompleted && match(entry))
                {
                    found.TrySetResult(entry);
                }
            }
        }
    }

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(new LogEntry(category, logLevel, formatter(state, exception) + (exception is null ? "" : Environment.NewLine + exception)));
    }
}
