using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.TestSupport;

/// <summary>
/// <see cref="CapturingLoggerProvider"/> under the name that tests written before the two support folders were
/// merged still use (branches in flight). New tests use <see cref="CapturingLoggerProvider"/>, which is also an
/// <see cref="ILoggerFactory"/>; delete this once nothing does.
/// </summary>
internal sealed class ListLoggerFactory : ILoggerFactory
{
    private readonly CapturingLoggerProvider _logs = new();

    public IReadOnlyList<LogEntry> Entries => [.. _logs.Entries];

    public ILogger CreateLogger(string categoryName) => _logs.CreateLogger(categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }
}
