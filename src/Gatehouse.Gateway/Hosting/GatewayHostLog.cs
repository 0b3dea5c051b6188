using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Hosting;

/// <summary>The gateway host's lifecycle log lines.</summary>
internal static partial class GatewayHostLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Draining: readiness is 503; new connections are accepted for {Delay} more, then in-flight requests get {Timeout}")]
    public static partial void DrainStarted(ILogger logger, TimeSpan delay, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Information, Message = "Closing the listeners; requests in flight get up to {Timeout} to finish")]
    public static partial void ListenersClosing(ILogger logger, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No /ready and /live listener: cannot listen on {Url} ({Reason}); give --admin-url another address")]
    public static partial void HealthNotStarted(ILogger logger, string url, string reason);
}
