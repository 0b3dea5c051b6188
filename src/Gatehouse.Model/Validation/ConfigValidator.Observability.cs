using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Validation;

// gateway.observability: usage analytics, metrics, the access log (docs/observability.md).
public static partial class ConfigValidator
{
    private const string ObservabilityPath = "gateway.observability";

    private static void ValidateObservability(ObservabilityConfig o, List<ConfigError> errors)
    {
        var usage = o.Usage;
        if (usage.FlushInterval < TimeSpan.FromSeconds(1) || usage.FlushInterval > TimeSpan.FromMinutes(5))
        {
            errors.Add(new ConfigError($"{ObservabilityPath}.usage.flushInterval", $"must be from 1s to 5m; found {Units.FormatDuration(usage.FlushInterval)}."));
        }

        if (usage.KeepMinutes < TimeSpan.FromHours(1))
        {
            errors.Add(new ConfigError($"{ObservabilityPath}.usage.keepMinutes", $"must be at least 1h, so that the last hour can be charted by the minute; found {Units.FormatDuration(usage.KeepMinutes)}."));
        }

        if (usage.KeepHours < TimeSpan.FromDays(1))
        {
            errors.Add(new ConfigError($"{ObservabilityPath}.usage.keepHours", $"must be at least 1d; found {Units.FormatDuration(usage.KeepHours)}."));
        }

        if (usage.KeepDays is { } days && days < TimeSpan.FromDays(1))
        {
            errors.Add(new ConfigError($"{ObservabilityPath}.usage.keepDays", $"must be at least 1d, or 'forever'; found {Units.FormatDuration(days)}."));
        }

        if (o.Metrics.Url is not { } url)
        {
        }
        else if (!TryParseListener(url, out var uri, out var error))
        {
            errors.Add(new ConfigError($"{ObservabilityPath}.metrics.url", error!));
        }
        else if (uri!.Scheme != "http")
        {
            errors.Add(new ConfigError($"{ObservabilityPath}.metrics.url", "the metrics listener is plain http (http://ADDRESS:PORT); put TLS in front of it if it must leave the host."));
        }

        if (o.AccessLog is { } log)
        {
            if (log.Path != "stdout" && Path.GetDirectoryName(log.Path) is { } folder && !Directory.Exists(folder))
            {
                errors.Add(new ConfigError($"{ObservabilityPath}.accessLog.path", $"the folder '{folder}' does not exist; create it, or write 'stdout'."));
            }

            if (log.MaxFileSize < 4096)
            {
                errors.Add(new ConfigError($"{ObservabilityPath}.accessLog.maxFileSize", "must be at least 4KB."));
            }
        }
    }
}
