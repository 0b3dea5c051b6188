using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>One log call captured by <see cref="CapturingLoggerProvider"/>.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, string Message);
