using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.TestSupport;

/// <summary>One log call captured by <see cref="ListLoggerFactory"/>.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, string Message);
