using System.Globalization;
using Gatehouse.Model.Config;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>Binds <c>gateway.observability</c> (<see cref="ObservabilityConfig"/>).</summary>
internal sealed class ObservabilityReader(YamlBinder b, string baseDirectory)
{
    public ObservabilityConfig Read(YamlNode node, string path)
    {
        var config = new ObservabilityConfig();
        var map = b.Mapping(node, path, "usage", "metrics", "accessLog", "tracing");
        if (map is null)
        {
            return config;
        }

        if (map.TryGetValue("usage", out var usage))
        {
            config = config with { Usage = ReadUsage(usage, YamlBinder.Join(path, "usage")) };
        }

        if (map.TryGetValue("metrics", out var metrics))
        {
            config = config with { Metrics = ReadMetrics(metrics, YamlBinder.Join(path, "metrics")) };
        }

        if (map.TryGetValue("accessLog", out var accessLog))
        {
            config = config with { AccessLog = ReadAccessLog(accessLog, YamlBinder.Join(path, "accessLog")) };
        }

        if (map.TryGetValue("tracing", out var tracing)
            && b.Mapping(tracing, YamlBinder.Join(path, "tracing"), "acceptTraceparent") is { } tracingMap
            && tracingMap.TryGetValue("acceptTraceparent", out var accept)
            && b.Enum<TraceparentTrust>(accept, YamlBinder.Join(path, "tracing.acceptTraceparent")) is { } trust)
        {
            config = config with { Tracing = new TracingConfig { AcceptTraceparent = trust } };
        }

        return config;
    }

    private UsageConfig ReadUsage(YamlNode node, string path)
    {
        var usage = new UsageConfig();
        var map = b.Mapping(node, path, "enabled", "flushInterval", "bufferSize", "maxPendingRows", "keepMinutes", "keepHours", "keepDays");
        if (map is null)
        {
            return usage;
        }

        if (b.Bool(map, "enabled", path) is { } enabled)
        {
            usage = usage with { Enabled = enabled };
        }

        if (map.TryGetValue("flushInterval", out var flush) && b.Duration(flush, YamlBinder.Join(path, "flushInterval")) is { } interval)
        {
            usage = usage with { FlushInterval = interval };
        }

        if (map.TryGetValue("bufferSize", out var buffer) && b.Int(buffer, YamlBinder.Join(path, "bufferSize"), 1) is { } size)
        {
            usage = usage with { BufferSize = size };
        }

        if (map.TryGetValue("maxPendingRows", out var rows) && b.Int(rows, YamlBinder.Join(path, "maxPendingRows"), 1) is { } maxRows)
        {
            usage = usage with { MaxPendingRows = maxRows };
        }

        if (map.TryGetValue("keepMinutes", out var minutes) && b.Duration(minutes, YamlBinder.Join(path, "keepMinutes")) is { } keepMinutes)
        {
            usage = usage with { KeepMinutes = keepMinutes };
        }

        if (map.TryGetValue("keepHours", out var hours) && b.Duration(hours, YamlBinder.Join(path, "keepHours")) is { } keepHours)
        {
            usage = usage with { KeepHours = keepHours };
        }

        if (map.TryGetValue("keepDays", out var days))
        {
            // "forever" is the default, and may be written to say so.
            if (days is YamlScalarNode { Value: "forever" })
            {
                usage = usage with { KeepDays = null };
            }
            else if (b.Duration(days, YamlBinder.Join(path, "keepDays")) is { } keepDays)
            {
                usage = usage with { KeepDays = keepDays };
            }
        }

        return usage;
    }

    private MetricsConfig ReadMetrics(YamlNode node, string path)
    {
        var metrics = new MetricsConfig();
        var map = b.Mapping(node, path, "enabled", "url", "applicationLabel", "maxApplications");
        if (map is null)
        {
            return metrics;
        }

        if (b.Bool(map, "enabled", path) is { } enabled)
        {
            metrics = metrics with { Enabled = enabled };
        }

        if (map.TryGetValue("url", out var url) && b.String(url, YamlBinder.Join(path, "url")) is { } text)
        {
            metrics = metrics with { Url = text };
        }

        if (b.Bool(map, "applicationLabel", path) is { } label)
        {
            metrics = metrics with { ApplicationLabel = label };
        }

        if (map.TryGetValue("maxApplications", out var max) && b.Int(max, YamlBinder.Join(path, "maxApplications"), 1) is { } maxApplications)
        {
            metrics = metrics with { MaxApplications = maxApplications };
        }

        return metrics;
    }

    private AccessLogConfig? ReadAccessLog(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "path", "sampleRate", "errorsOnly", "maxFileSize", "maxFiles", "bufferSize");
        if (map is null)
        {
            return null;
        }

        // Every key is read even without a path, so that all mistakes are reported at once.
        var target = b.Required(map, "path", path, node, "where to write: 'stdout' or a file path");
        var log = new AccessLogConfig { Path = target is null or "stdout" ? "stdout" : Path.GetFullPath(target, baseDirectory) };
        if (map.TryGetValue("sampleRate", out var rate) && b.String(rate, YamlBinder.Join(path, "sampleRate")) is { } rateText)
        {
            if (double.TryParse(rateText, NumberStyles.Float, CultureInfo.InvariantCulture, out var sample) && sample is >= 0 and <= 1)
            {
                log = log with { SampleRate = sample };
            }
            else
            {
                b.Error(YamlBinder.Join(path, "sampleRate"), rate, $"expected a share from 0 to 1, such as 0.01 for one request in a hundred; found '{rateText}'.");
            }
        }

        if (b.Bool(map, "errorsOnly", path) is { } errorsOnly)
        {
            log = log with { ErrorsOnly = errorsOnly };
        }

        if (map.TryGetValue("maxFileSize", out var maxSize) && b.Size(maxSize, YamlBinder.Join(path, "maxFileSize")) is { } fileSize)
        {
            log = log with { MaxFileSize = fileSize };
        }

        if (map.TryGetValue("maxFiles", out var files) && b.Int(files, YamlBinder.Join(path, "maxFiles"), 0) is { } maxFiles)
        {
            log = log with { MaxFiles = maxFiles };
        }

        if (map.TryGetValue("bufferSize", out var buffer) && b.Int(buffer, YamlBinder.Join(path, "bufferSize"), 1) is { } bufferSize)
        {
            log = log with { BufferSize = bufferSize };
        }

        return target is null ? null : log;
    }
}
