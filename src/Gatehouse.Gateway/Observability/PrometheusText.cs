using System.Globalization;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Gatehouse.Gateway.Observability;

/// <summary>
/// Serves the metrics the OpenTelemetry SDK aggregates as Prometheus text (exposition format 0.0.4), on demand: each scrape
/// collects once, under a lock, and writes the text.
/// </summary>
/// <remarks>
/// Why this and not a package: the OpenTelemetry Prometheus exporter is served only as a beta, and prometheus-net's bridge of
/// .NET meters (MeterAdapter) deletes series that have not changed for a while (so a quiet counter vanishes between scrapes)
/// and does not follow OpenTelemetry's naming rules. The SDK (stable) does the aggregation, the bucket layouts the
/// instrumentations advise, and the cardinality limits; this class only writes its points in the text format, following
/// the OpenTelemetry → Prometheus compatibility rules: dots become underscores, the unit is appended as a word
/// (<c>s</c> → <c>_seconds</c>, <c>By</c> → <c>_bytes</c>; annotations such as <c>{request}</c> are dropped), monotonic sums
/// get <c>_total</c>, up-down counters are gauges, histograms have cumulative <c>_bucket</c> lines with <c>le</c>.
/// </remarks>
internal sealed class PrometheusText : IDisposable
{
    /// <summary>The content type of the text exposition format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly Exporter _exporter;
    private readonly Lock _lock = new();

    public PrometheusText()
    {
        _exporter = new Exporter();
        Reader = new BaseExportingMetricReader(_exporter) { TemporalityPreference = MetricReaderTemporalityPreference.Cumulative };
    }

    /// <summary>The per-request metrics, aggregated off the request path (<see cref="RequestMetrics"/>), written after the SDK's.</summary>
    public RequestMetrics? Requests { get; set; }

    /// <summary>The reader to add to the meter provider.</summary>
    public MetricReader Reader { get; }

    /// <summary>Collects every metric now and returns it as Prometheus text.</summary>
    public string Scrape()
    {
        lock (_lock)
        {
            _exporter.Output.Clear();
            Reader.Collect(5_000);
            Requests?.WriteTo(_exporter.Output);
            return _exporter.Output.ToString();
        }
    }

    public void Dispose() => Reader.Dispose();

    // Pull and push: the reader refuses to hand a pull-only exporter a batch outside the SDK's own pull scope, and Scrape calls
    // Collect directly. Nothing ever pushes: no periodic reader is made, so a batch comes only when Scrape asks for one.
    [ExportModes(ExportModes.Pull | ExportModes.Push)]
    private sealed class Exporter : BaseExporter<Metric>
    {
        public StringBuilder Output { get; } = new();

        public override ExportResult Export(in Batch<Metric> batch)
        {
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var metric in batch)
            {
                Write(Output, metric, written);
            }

            return ExportResult.Success;
        }
    }

    private static void Write(StringBuilder text, Metric metric, HashSet<string> written)
    {
        var type = metric.MetricType;
        var isHistogram = type == MetricType.Histogram;
        var isCounter = type is MetricType.LongSum or MetricType.DoubleSum;
        var isGauge = type is MetricType.LongGauge or MetricType.DoubleGauge or MetricType.LongSumNonMonotonic or MetricType.DoubleSumNonMonotonic;
        if (!isHistogram && !isCounter && !isGauge)
        {
            return; // exponential histograms are not configured
        }

        var name = MetricName(metric.Name, metric.Unit, isCounter);

        // Two meters may define an instrument of the same name; the format allows one family per name.
        if (!written.Add(name))
        {
            return;
        }

        text.Append("# HELP ").Append(name).Append(' ');
        AppendHelp(text, string.IsNullOrEmpty(metric.Description) ? metric.Name : metric.Description);
        text.Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(isHistogram ? "histogram" : isCounter ? "counter" : "gauge").Append('\n');
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            if (isHistogram)
            {
                long cumulative = 0;
                foreach (var bucket in point.GetHistogramBuckets())
                {
                    cumulative += bucket.BucketCount;
                    text.Append(name).Append("_bucket");
                    AppendLabels(text, point.Tags, double.IsPositiveInfinity(bucket.ExplicitBound) ? "+Inf" : Number(bucket.ExplicitBound));
                    text.Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }

                text.Append(name).Append("_sum");
                AppendLabels(text, point.Tags, null);
                text.Append(' ').Append(Number(point.GetHistogramSum())).Append('\n');
                text.Append(name).Append("_count");
                AppendLabels(text, point.Tags, null);
                text.Append(' ').Append(point.GetHistogramCount().ToString(CultureInfo.InvariantCulture)).Append('\n');
                continue;
            }

            text.Append(name);
            AppendLabels(text, point.Tags, null);
            text.Append(' ');
            text.Append(type switch
            {
                MetricType.LongSum or MetricType.LongSumNonMonotonic => point.GetSumLong().ToString(CultureInfo.InvariantCulture),
                MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic => Number(point.GetSumDouble()),
                MetricType.LongGauge => point.GetGaugeLastValueLong().ToString(CultureInfo.InvariantCulture),
                _ => Number(point.GetGaugeLastValueDouble()),
            });
            text.Append('\n');
        }
    }

    /// <summary>The Prometheus name of an OpenTelemetry instrument (see the remarks of <see cref="PrometheusText"/>).</summary>
    internal static string MetricName(string name, string? unit, bool counter)
    {
        var result = Sanitize(name, allowColon: true);
        var word = UnitWord(unit);
        if (word.Length > 0 && !result.EndsWith("_" + word, StringComparison.Ordinal))
        {
            result += "_" + word;
        }

        if (counter && !result.EndsWith("_total", StringComparison.Ordinal))
        {
            result += "_total";
        }

        return result;
    }

    private static string UnitWord(string? unit) => unit switch
    {
        null or "" or "1" => "",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "%" => "percent",
        _ when unit.StartsWith('{') => "",
        _ => Sanitize(unit, allowColon: false),
    };

    /// <summary>A metric or label name: <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c> (no colon in labels), runs of other characters as one <c>_</c>.</summary>
    internal static string Sanitize(string name, bool allowColon)
    {
        var builder = new StringBuilder(name.Length + 1);
        var lastUnderscore = false;
        foreach (var c in name)
        {
            var ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' || (allowColon && c == ':');
            if (ok)
            {
                builder.Append(c);
                lastUnderscore = c == '_';
            }
            else if (!lastUnderscore)
            {
                builder.Append('_');
                lastUnderscore = true;
            }
        }

        if (builder.Length == 0 || char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, '_');
        }

        return builder.ToString();
    }

    private static void AppendLabels(StringBuilder text, ReadOnlyTagCollection tags, string? le)
    {
        var first = true;
        foreach (var tag in tags)
        {
            text.Append(first ? '{' : ',');
            first = false;
            text.Append(Sanitize(tag.Key, allowColon: false)).Append("=\"");
            AppendLabelValue(text, tag.Value switch
            {
                bool b => b ? "true" : "false", // as OpenTelemetry writes booleans (otel.metric.overflow="true")
                _ => Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? "",
            });
            text.Append('"');
        }

        if (le is not null)
        {
            text.Append(first ? '{' : ',').Append("le=\"").Append(le).Append('"');
            first = false;
        }

        if (!first)
        {
            text.Append('}');
        }
    }

    // Label values escape backslash, double quote and line feed; HELP text escapes backslash and line feed.
    internal static void AppendLabelValue(StringBuilder text, string value)
    {
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => text.Append("\\\\"),
                '"' => text.Append("\\\""),
                '\n' => text.Append("\\n"),
                _ => text.Append(c),
            };
        }
    }

    private static void AppendHelp(StringBuilder text, string value)
    {
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => text.Append("\\\\"),
                '\n' => text.Append("\\n"),
                _ => text.Append(c),
            };
        }
    }

    private static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : double.IsNaN(value) ? "NaN" : value.ToString("R", CultureInfo.InvariantCulture);
}
